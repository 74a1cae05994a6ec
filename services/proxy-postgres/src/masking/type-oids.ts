// Built-in type OIDs (src/include/catalog/pg_type.dat) grouped by what masking
// can do with their values.

export type TypeClass =
  | 'text' // text-like: any string is a valid value
  | 'bpchar' // char(n) and "char": text of a fixed length
  | 'json'
  | 'jsonb' // binary form: version byte 1, then JSON text
  | 'xml'
  | 'text-array'
  | 'json-array'
  | 'number' // int8, numeric, float8: wide enough to hold a card number
  | 'number-array'
  | 'clean' // cannot hold any finding: too narrow or not free-form
  | 'clean-array'
  | 'bytea'
  | 'record' // anonymous record: its text form is a row literal, never a maskable scalar
  | 'other'; // records, anything unknown (citext and other extension types have OIDs assigned at install)

const CLASSES = new Map<number, TypeClass>();
const add = (cls: TypeClass, oids: number[]): void => oids.forEach((o) => CLASSES.set(o, cls));

add('text', [25 /* text */, 1043 /* varchar */, 19 /* name */]);
add('bpchar', [1042 /* char(n) */, 18 /* "char": one byte, so its mask keeps length 1 */]);
add('json', [114]);
add('jsonb', [3802]);
add('xml', [142]);
add('text-array', [1009 /* text[] */, 1015 /* varchar[] */, 1014 /* bpchar[] */, 1003 /* name[] */, 1002 /* "char"[] */]);
add('json-array', [199 /* json[] */, 3807 /* jsonb[] */]);
add('number', [20 /* int8 */, 1700 /* numeric */, 701 /* float8 */]);
add('number-array', [1016 /* int8[] */, 1231 /* numeric[] */, 1022 /* float8[] */]);
add('clean', [
  16 /* bool */, 21 /* int2 */, 23 /* int4 */, 26 /* oid */, 700 /* float4 */, 790 /* money */,
  1082 /* date */, 1083 /* time */, 1266 /* timetz */, 1114 /* timestamp */, 1184 /* timestamptz */, 1186 /* interval */,
  2950 /* uuid */, 869 /* inet */, 650 /* cidr */, 829 /* macaddr */, 774 /* macaddr8 */,
  1560 /* bit */, 1562 /* varbit */, 27 /* tid */, 28 /* xid */, 29 /* cid */, 5069 /* xid8 */, 3220 /* pg_lsn */,
  24 /* regproc */, 2205 /* regclass */, 2206 /* regtype */, 600 /* point */,
]);
add('clean-array', [
  1000 /* bool[] */, 1005 /* int2[] */, 1007 /* int4[] */, 1028 /* oid[] */, 1021 /* float4[] */,
  1182 /* date[] */, 1183 /* time[] */, 1115 /* timestamp[] */, 1185 /* timestamptz[] */, 1187 /* interval[] */,
  2951 /* uuid[] */, 1041 /* inet[] */, 651 /* cidr[] */,
]);
add('bytea', [17]);
add('record', [2249]);

export function typeClass(oid: number): TypeClass {
  return CLASSES.get(oid) ?? 'other';
}

export const OID = { text: 25, varchar: 1043, bpchar: 1042, json: 114, jsonb: 3802, int8: 20, numeric: 1700, float8: 701 } as const;
