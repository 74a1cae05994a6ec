import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecClock } from '../src/exec-timing.ts';

test('an exec clock splits the time between its marks into judge, target open, run and relay', () => {
  // given a clock that reads 100 ms at the exec request
  const readings = [100, 104.5, 108, 208, 208.25];
  const clock = new ExecClock(() => readings.shift()!);
  // when each stage is marked in order
  clock.mark('decided');
  clock.mark('opened');
  clock.mark('ran');
  clock.mark('relayed');
  // then each stage is the time since the previous mark
  assert.deepEqual(clock.timing(), { judgeMs: 4.5, targetOpenMs: 3.5, runMs: 100, relayMs: 0.25 });
});

test('stages never reached count as zero (a refused command has only its judge time)', () => {
  const readings = [10, 12];
  const clock = new ExecClock(() => readings.shift()!);
  clock.mark('decided');
  assert.deepEqual(clock.timing(), { judgeMs: 2, targetOpenMs: 0, runMs: 0, relayMs: 0 });
});
