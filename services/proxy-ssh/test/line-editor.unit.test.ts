import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineEditor, type LineEditorStep } from '../src/line-editor.ts';

function type(keys: string[]): { steps: LineEditorStep[]; forwarded: string; submitted: { line: string; exact: boolean }[] } {
  const editor = new LineEditor();
  const steps = keys.flatMap((k) => editor.feed(Buffer.from(k, 'utf8')));
  return {
    steps,
    forwarded: steps.filter((s) => s.kind === 'forward').map((s) => (s as { data: Buffer }).data.toString()).join(''),
    submitted: steps.flatMap((s) => (s.kind === 'submit' ? [{ line: s.line, exact: s.exact }] : [])),
  };
}

test('keystrokes are forwarded as typed; only the Enter is held back', () => {
  const r = type(['l', 's', ' -', 'la', '\r']);
  assert.equal(r.forwarded, 'ls -la');
  assert.deepEqual(r.submitted, [{ line: 'ls -la', exact: true }]);
  assert.equal(r.steps.at(-1)!.kind, 'submit');
});

test('backspace, Ctrl-U, Ctrl-W and Ctrl-C edits are followed', () => {
  assert.deepEqual(type(['rmx\x7f\x7f\x7fls\r']).submitted, [{ line: 'ls', exact: true }]);
  assert.deepEqual(type(['rm -rf /\x15echo hi\r']).submitted, [{ line: 'echo hi', exact: true }]);
  assert.deepEqual(type(['echo one two\x17three\r']).submitted, [{ line: 'echo one three', exact: true }]);
  assert.deepEqual(type(['rm -rf /\x03', 'uptime\r']).submitted, [{ line: 'uptime', exact: true }]);
  assert.deepEqual(type(['caf\u00e9\x7f\x7fe\r']).submitted, [{ line: 'cae', exact: true }], 'multi-byte characters are deleted whole');
});

test('arrow keys, history, Tab and cursor moves make the line inexact but it is still judged', () => {
  assert.deepEqual(type(['\x1b[A\r']).submitted, [{ line: '', exact: false }]);
  assert.deepEqual(type(['ls\x1b[D\x1b[Dx\r']).submitted, [{ line: 'lsx', exact: false }]);
  assert.deepEqual(type(['cat /etc/pas\t\r']).submitted, [{ line: 'cat /etc/pas', exact: false }]);
  assert.deepEqual(type(['ls\x01rm \r']).submitted, [{ line: 'lsrm ', exact: false }]);
  // An escape sequence split across reads is still skipped.
  assert.deepEqual(type(['ls\x1b', '[', 'C -l\r']).submitted, [{ line: 'ls -l', exact: false }]);
});

test('pasted text with several lines submits each line in order; CR LF is one Enter', () => {
  const r = type(['echo a\r\necho b\necho c']);
  assert.deepEqual(r.submitted, [{ line: 'echo a', exact: true }, { line: 'echo b', exact: true }]);
  const kinds = r.steps.map((s) => s.kind);
  assert.deepEqual(kinds, ['forward', 'submit', 'forward', 'submit', 'forward']);
  assert.equal((r.steps[1] as { enter: Buffer }).enter.toString(), '\r\n');
});
