import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { newId, nowIso, type CommandRequested, type HttpCommand, type SessionTopicEvent, type VerdictIssued } from '@portcullis/schemas';
import { silentLogger, type CommandGate } from '@portcullis/kit';
import { ConnectionSessions } from '../src/connection-sessions.ts';
import { LiveRequests } from '../src/live-requests.ts';

const identity = { subject: 'alice', issuer: 'http://127.0.0.1:9400', kind: 'human' as const, groups: [] };
const resource = { name: 'api', kind: 'http' as const, tags: [] };
const command = { kind: 'http', method: 'GET', path: '/status', query: '', headers: {}, bodySize: 0 } as unknown as HttpCommand;
const options = { timeoutMs: 1000, holdTimeoutMs: 1000 };

/** A gate that allows everything and records what it judged. */
function allowingGate(judged: CommandRequested[]): CommandGate {
  return {
    judge: async (c) => {
      judged.push(c);
      return { type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: c.sessionId, commandId: c.commandId, effect: 'allow', ruleIds: [], reasons: [], policyVersion: 1, final: true, classes: [] } as VerdictIssued;
    },
    awaitFinal: () => Promise.reject(new Error('no holds here')),
  };
}

test('given SessionOpened cannot be written, when the first request is judged, then it is refused (503 bus unavailable) and the next request opens a new session', async () => {
  const events: SessionTopicEvent[] = [];
  let failOpen = true;
  const sink = {
    publish: async (e: SessionTopicEvent) => {
      if (e.type === 'SessionOpened' && failOpen) throw new Error('broker down');
      events.push(e);
    },
  };
  const judged: CommandRequested[] = [];
  const live = new LiveRequests();
  const sessions = new ConnectionSessions({ sink, gate: allowingGate(judged), logger: silentLogger(), live });
  const socket = new Socket();
  const credential = { token: 't1', identity };
  const details = { clientAddress: '127.0.0.1', arrival: { acceptedAt: Date.now() } };

  const first = sessions.open(socket, resource, credential, details);
  const outcome = await first.session.judge(command, options);
  assert.equal(outcome.run, false, 'nothing runs in a session whose opening was not recorded');
  assert.equal(!outcome.run && outcome.refusal.code, 'PCL_ERR_BUS_UNAVAILABLE');
  assert.equal(sessions.current(socket, 'api', 't1'), undefined, 'the broken session takes no more requests');
  assert.equal(live.busy(first.session.sessionId), false);

  failOpen = false;
  const second = sessions.open(socket, resource, credential, details);
  assert.notEqual(second.session.sessionId, first.session.sessionId);
  const again = await second.session.judge(command, options);
  assert.equal(again.run, true);
  assert.equal(sessions.current(socket, 'api', 't1'), second, 'the same token on the same connection is the same session');
  assert.equal(sessions.current(socket, 'api', 't2'), undefined, 'another token is not');
  assert.deepEqual(events.map((e) => e.type), ['SessionOpened']);
  socket.destroy();
});

test('given a running command, when the connection closes, then SessionClosed waits for its completion record', async () => {
  const events: SessionTopicEvent[] = [];
  const sink = { publish: async (e: SessionTopicEvent) => void events.push(e) };
  const sessions = new ConnectionSessions({ sink, gate: allowingGate([]), logger: silentLogger(), live: new LiveRequests() });
  const socket = new Socket();
  const entry = sessions.open(socket, resource, { token: 't1', identity }, { clientAddress: '127.0.0.1', arrival: { acceptedAt: Date.now() } });
  const commandId = newId();
  assert.equal((await entry.session.judge(command, options, commandId)).run, true);
  sessions.commandBegun(entry);
  socket.destroy();
  await new Promise((r) => setImmediate(r));
  assert.equal(sessions.current(socket, 'api', 't1'), undefined, 'a closing session takes no more requests');
  entry.session.completeCommand({ commandId, status: 'executed', durationMs: 1, tag: '200' });
  sessions.commandDone(entry);
  await entry.session.close();
  assert.deepEqual(events.map((e) => e.type), ['SessionOpened', 'CommandCompleted', 'SessionClosed']);
});
