/**
 * Folds constant expressions of a PostgreSQL parse tree, so `WHERE 2>1`,
 * `WHERE NOT false`, `WHERE 'a'='a'` or `WHERE true OR id=1` are recognised
 * as always true. SQL three-valued logic: `undefined` means "not a constant
 * we can fold", `null` is SQL NULL.
 */
type Value = boolean | number | string | null | undefined;
type Node = Record<string, unknown>;

const only = (node: unknown): [string, Node] | undefined => {
  if (!node || typeof node !== 'object') return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  return [keys[0]!, (node as Node)[keys[0]!] as Node];
};

const opName = (name: unknown): string | undefined => {
  if (!Array.isArray(name)) return undefined;
  const last = name[name.length - 1] as { String?: { sval?: string } } | undefined;
  return last?.String?.sval;
};

function constValue(c: Node): Value {
  if (c.isnull) return null;
  const ival = c.ival as { ival?: number } | undefined;
  if (ival) return ival.ival ?? 0;
  const fval = c.fval as { fval?: string } | undefined;
  if (fval) return Number(fval.fval);
  const sval = c.sval as { sval?: string } | undefined;
  if (sval) return sval.sval ?? '';
  const bval = c.boolval as { boolval?: boolean } | undefined;
  if (bval) return bval.boolval ?? false;
  const bsval = c.bsval as { bsval?: string } | undefined;
  if (bsval) return undefined;
  return undefined;
}

const typeName = (t: unknown): string | undefined => {
  const names = (t as { names?: unknown[] } | undefined)?.names;
  return opName(names);
};

function cast(v: Value, type: string | undefined): Value {
  if (v === undefined || v === null || type === undefined) return v;
  switch (type) {
    case 'bool':
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      const s = String(v).trim().toLowerCase();
      if (['t', 'true', 'y', 'yes', 'on', '1'].includes(s)) return true;
      if (['f', 'false', 'n', 'no', 'off', '0'].includes(s)) return false;
      return undefined;
    }
    case 'int2':
    case 'int4':
    case 'int8':
    case 'integer':
    case 'int':
    case 'smallint':
    case 'bigint':
    case 'numeric':
    case 'float4':
    case 'float8': {
      if (typeof v === 'boolean') return type === 'int4' || type === 'int' || type === 'integer' ? (v ? 1 : 0) : undefined;
      const n = Number(v);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
      return typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
    default:
      return undefined;
  }
}

function compare(op: string, a: Value, b: Value): Value {
  if (a === undefined || b === undefined) return undefined;
  if (a === null || b === null) return null;
  if (typeof a !== typeof b) {
    // An untyped literal compared to a number or boolean is coerced to it.
    if (typeof a === 'string') a = cast(a, typeof b === 'number' ? 'numeric' : 'bool');
    else if (typeof b === 'string') b = cast(b, typeof a === 'number' ? 'numeric' : 'bool');
    if (a === undefined || b === undefined || a === null || b === null || typeof a !== typeof b) return undefined;
  }
  switch (op) {
    case '=':
      return a === b;
    case '<>':
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
    default:
      return undefined;
  }
}

function arithmetic(op: string, a: Value, b: Value): Value {
  if (a === undefined || b === undefined) return undefined;
  if (a === null || b === null) return null;
  if (op === '||') return typeof a === 'boolean' || typeof b === 'boolean' ? undefined : String(a) + String(b);
  const x = typeof a === 'string' ? Number(a) : a;
  const y = typeof b === 'string' ? Number(b) : b;
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) return undefined;
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return y === 0 ? undefined : x / y;
    case '%':
      return y === 0 ? undefined : x % y;
    default:
      return undefined;
  }
}

/** A_Expr operands that are lists arrive as `{ List: { items } }` (or a bare array in older trees). */
const listItems = (node: unknown): unknown[] => {
  if (Array.isArray(node)) return node;
  const entry = only(node);
  return entry?.[0] === 'List' ? ((entry[1].items as unknown[]) ?? []) : [];
};

const sameColumn = (a: unknown, b: unknown): boolean => {
  const x = only(a);
  const y = only(b);
  return !!x && !!y && x[0] === 'ColumnRef' && y[0] === 'ColumnRef' && JSON.stringify(x[1].fields) === JSON.stringify(y[1].fields);
};

/** Evaluates a parse-tree expression when it is constant. */
export function evaluateConstant(node: unknown): Value {
  const entry = only(node);
  if (!entry) return undefined;
  const [kind, n] = entry;
  switch (kind) {
    case 'A_Const':
      return constValue(n);
    case 'TypeCast':
      return cast(evaluateConstant(n.arg), typeName(n.typeName));
    case 'BoolExpr': {
      const args = ((n.args as unknown[]) ?? []).map(evaluateConstant);
      if (n.boolop === 'NOT_EXPR') {
        const v = args[0];
        return v === undefined || v === null ? v : typeof v === 'boolean' ? !v : undefined;
      }
      const isAnd = n.boolop === 'AND_EXPR';
      let unknown = false;
      let sawNull = false;
      for (const v of args) {
        if (v === (isAnd ? false : true)) return !isAnd;
        if (v === null) sawNull = true;
        else if (typeof v !== 'boolean') unknown = true;
      }
      if (unknown) return undefined;
      return sawNull ? null : isAnd;
    }
    case 'A_Expr': {
      const op = opName(n.name);
      switch (n.kind) {
        case 'AEXPR_OP': {
          if (!op) return undefined;
          if (n.lexpr === undefined) {
            const v = evaluateConstant(n.rexpr);
            if (op === '-' && typeof v === 'number') return -v;
            if (op === '+' && typeof v === 'number') return v;
            return undefined;
          }
          // `col = col`, `col >= col` hold for every row where col is not null.
          if (['=', '<=', '>='].includes(op) && sameColumn(n.lexpr, n.rexpr)) return true;
          const l = evaluateConstant(n.lexpr);
          const r = evaluateConstant(n.rexpr);
          const c = compare(op, l, r);
          return c !== undefined ? c : arithmetic(op, l, r);
        }
        case 'AEXPR_DISTINCT':
          return ((l, r) => (l === undefined || r === undefined ? undefined : l !== r))(evaluateConstant(n.lexpr), evaluateConstant(n.rexpr));
        case 'AEXPR_NOT_DISTINCT':
          return ((l, r) => (l === undefined || r === undefined ? undefined : l === r))(evaluateConstant(n.lexpr), evaluateConstant(n.rexpr));
        case 'AEXPR_IN': {
          const l = evaluateConstant(n.lexpr);
          const list = listItems(n.rexpr);
          if (list.length === 0) return undefined;
          const results = list.map((item) => compare('=', l, evaluateConstant(item)));
          const found = results.some((v) => v === true);
          const negated = op === '<>';
          if (found) return !negated;
          if (results.every((v) => v === false)) return negated;
          return undefined;
        }
        case 'AEXPR_BETWEEN':
        case 'AEXPR_NOT_BETWEEN':
        case 'AEXPR_BETWEEN_SYM':
        case 'AEXPR_NOT_BETWEEN_SYM': {
          const v = evaluateConstant(n.lexpr);
          const bounds = listItems(n.rexpr);
          if (!Array.isArray(bounds) || bounds.length !== 2) return undefined;
          let [a, b] = [evaluateConstant(bounds[0]), evaluateConstant(bounds[1])];
          if (n.kind.endsWith('_SYM') && compare('>', a, b) === true) [a, b] = [b, a];
          const lo = compare('>=', v, a);
          const hi = compare('<=', v, b);
          if (typeof lo !== 'boolean' || typeof hi !== 'boolean') return undefined;
          return n.kind.startsWith('AEXPR_BETWEEN') ? lo && hi : !(lo && hi);
        }
        default:
          return undefined;
      }
    }
    case 'NullTest': {
      const v = evaluateConstant(n.arg);
      if (v === undefined) return undefined;
      return n.nulltesttype === 'IS_NULL' ? v === null : v !== null;
    }
    case 'BooleanTest': {
      const v = evaluateConstant(n.arg);
      if (v === undefined || (v !== null && typeof v !== 'boolean')) return undefined;
      switch (n.booltesttype) {
        case 'IS_TRUE':
          return v === true;
        case 'IS_NOT_TRUE':
          return v !== true;
        case 'IS_FALSE':
          return v === false;
        case 'IS_NOT_FALSE':
          return v !== false;
        case 'IS_UNKNOWN':
          return v === null;
        case 'IS_NOT_UNKNOWN':
          return v !== null;
        default:
          return undefined;
      }
    }
    case 'CoalesceExpr': {
      for (const arg of (n.args as unknown[]) ?? []) {
        const v = evaluateConstant(arg);
        if (v === undefined) return undefined;
        if (v !== null) return v;
      }
      return null;
    }
    case 'SubLink': {
      // EXISTS (SELECT …) without FROM and WHERE is always true; (SELECT <const>) is the constant.
      const sub = only(n.subselect);
      if (!sub || sub[0] !== 'SelectStmt') return undefined;
      const s = sub[1];
      const simple = !s.fromClause && !s.whereClause && !s.havingClause && !s.limitCount && !s.valuesLists && (s.op ?? 'SETOP_NONE') === 'SETOP_NONE';
      if (!simple) return undefined;
      if (n.subLinkType === 'EXISTS_SUBLINK') return true;
      if (n.subLinkType === 'EXPR_SUBLINK') {
        const targets = (s.targetList as unknown[]) ?? [];
        if (targets.length !== 1) return undefined;
        return evaluateConstant((only(targets[0])?.[1] as Node | undefined)?.val);
      }
      return undefined;
    }
    case 'FuncCall': {
      const name = opName(n.funcname);
      const args = ((n.args as unknown[]) ?? []).map(evaluateConstant);
      if (args.some((a) => a === undefined)) return undefined;
      const [a] = args;
      switch (name) {
        case 'lower':
          return typeof a === 'string' ? a.toLowerCase() : undefined;
        case 'upper':
          return typeof a === 'string' ? a.toUpperCase() : undefined;
        case 'length':
        case 'char_length':
          return typeof a === 'string' ? [...a].length : undefined;
        case 'abs':
          return typeof a === 'number' ? Math.abs(a) : undefined;
        case 'concat':
          return args.map((v) => (v === null ? '' : String(v))).join('');
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

/** True when a WHERE / ON condition holds for every row (absent conditions included). */
export function isAlwaysTrue(condition: unknown): boolean {
  if (condition === undefined || condition === null) return true;
  return evaluateConstant(condition) === true;
}
