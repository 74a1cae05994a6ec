import type { SqlClass } from './types.ts';
import { PG_CATALOG_FUNCTIONS } from './pg-builtins.ts';

/**
 * What calling a function means for policy. Names are compared lower-cased
 * and without a `pg_catalog.` prefix, so `PG_CATALOG.PG_READ_FILE(…)` and
 * `pg_read_file(…)` classify alike.
 */

/** Server-side file, program and large-object-to-file access. */
const FILE_ACCESS = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir',
  'pg_ls_replslotdir',
  'lo_import',
  'lo_export',
  // adminpack
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_file_sync',
  'pg_logdir_ls',
]);

/** Functions that act on the server or other sessions rather than on data. */
const ADMIN = new Set([
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_replication_slot_advance',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_log_backend_memory_contexts',
  'pg_import_system_collations',
  'pg_stat_reset',
  'pg_stat_reset_shared',
  'pg_stat_reset_single_table_counters',
  'pg_stat_reset_single_function_counters',
  'pg_stat_reset_slru',
  'pg_stat_reset_replication_slot',
  'pg_stat_reset_subscription_stats',
  'pg_replication_origin_create',
  'pg_replication_origin_drop',
  'pg_replication_origin_advance',
  'pg_replication_origin_session_setup',
]);

/**
 * Built-in functions that run a query given as text. With a literal argument
 * the query is judged like any other statement; otherwise the call is
 * non-literal dynamic SQL. They also return whole tables, so they reach every
 * protected column.
 */
export const QUERY_TEXT_FUNCTIONS = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'ts_stat']);

/** Built-ins that dump whole tables, schemas or the database by name: opaque, reach everything. */
const TABLE_DUMP_FUNCTIONS = new Set([
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
]);

export interface FunctionClassification {
  classes: SqlClass[];
  /** The call returns data the analysis cannot attribute to columns (whole tables, query results). */
  reachesEverything: boolean;
  /** Runs the query text given as its first argument. */
  runsQueryText: boolean;
}

/** Splits `schema.name` into parts; the parser has already lower-cased unquoted identifiers. */
export function normaliseFunctionName(parts: readonly string[]): { schema?: string; name: string } {
  const name = (parts[parts.length - 1] ?? '').toLowerCase();
  const schema = parts.length > 1 ? parts[parts.length - 2]!.toLowerCase() : undefined;
  return schema === undefined ? { name } : { schema, name };
}

export function classifyFunction(parts: readonly string[]): FunctionClassification {
  const { schema, name } = normaliseFunctionName(parts);
  const classes: SqlClass[] = [];
  let reachesEverything = false;
  let runsQueryText = false;
  // dblink lives in whatever schema the extension was installed into.
  if (name.startsWith('dblink')) return { classes: ['remote-execution'], reachesEverything: true, runsQueryText: false };
  const builtin = (schema === undefined || schema === 'pg_catalog') && PG_CATALOG_FUNCTIONS.has(name);
  const known = (schema === undefined || schema === 'pg_catalog') && (FILE_ACCESS.has(name) || ADMIN.has(name));
  if (!builtin && !known) return { classes: ['routine-call'], reachesEverything: true, runsQueryText: false };
  if (FILE_ACCESS.has(name)) classes.push('file-access');
  if (ADMIN.has(name)) classes.push('admin-function');
  if (QUERY_TEXT_FUNCTIONS.has(name)) {
    runsQueryText = true;
    reachesEverything = true;
  }
  if (TABLE_DUMP_FUNCTIONS.has(name)) {
    classes.push('dynamic-sql');
    reachesEverything = true;
  }
  return { classes, reachesEverything, runsQueryText };
}
