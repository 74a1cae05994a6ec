import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeDataRow,
  decodeNoticeFields,
  encodeAuthenticationCleartextPassword,
  encodeAuthenticationOk,
  encodeBackendKeyData,
  encodeCommandComplete,
  encodeCopyData,
  encodeDataRow,
  encodeErrorResponse,
  encodeNegotiateProtocolVersion,
  encodeNoticeResponse,
  encodeParameterStatus,
  encodeReadyForQuery,
  encodeSslResponse,
} from '../src/wire/backend-messages.ts';
import { MessageFramer, ProtocolViolation } from '../src/wire/framing.ts';
import { decodeFrontendMessage, decodeStartupPacket } from '../src/wire/frontend-messages.ts';

/** Golden fixtures are hand-built: type byte, Int32 length (counting itself), body. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const z = (s: string): string => Buffer.from(`${s}\0`, 'latin1').toString('hex');

describe('frontend messages (client → proxy), byte for byte', () => {
  it('StartupMessage', () => {
    const body = hex(`00030000 ${z('user')}${z('alice')}${z('database')}${z('orders')} 00`);
    assert.deepEqual(decodeStartupPacket(body), { kind: 'startup', protocolVersion: 196608, parameters: Object.assign(Object.create(null), { user: 'alice', database: 'orders' }) });
  });
  it('SSLRequest, GSSENCRequest, CancelRequest', () => {
    assert.deepEqual(decodeStartupPacket(hex('04d2162f')), { kind: 'ssl-request' });
    assert.deepEqual(decodeStartupPacket(hex('04d21630')), { kind: 'gssenc-request' });
    assert.deepEqual(decodeStartupPacket(hex('04d2162e 00000457 fffffffe')), { kind: 'cancel-request', processId: 1111, secretKey: -2 });
  });
  it('rejects an unknown protocol version and a truncated startup packet', () => {
    assert.throws(() => decodeStartupPacket(hex(`00020000 ${z('user')}${z('a')} 00`)), /unsupported frontend protocol 2.0/);
    assert.throws(() => decodeStartupPacket(hex(`00030000 ${z('user')}616c`)), ProtocolViolation);
    assert.throws(() => decodeStartupPacket(hex('04d2162e 00000457')), /truncated/);
  });
  it('PasswordMessage', () => {
    assert.deepEqual(decodeFrontendMessage(0x70, hex(z('eyJ.token'))), { type: 'Password', password: 'eyJ.token' });
  });
  it('Query', () => {
    assert.deepEqual(decodeFrontendMessage(0x51, hex(z('SELECT 1'))), { type: 'Query', text: 'SELECT 1' });
    assert.throws(() => decodeFrontendMessage(0x51, Buffer.from('SELECT 1')), /unterminated string/);
  });
  it('Parse', () => {
    const body = hex(`${z('s1')}${z('SELECT $1')} 0001 00000017`);
    assert.deepEqual(decodeFrontendMessage(0x50, body), { type: 'Parse', statement: 's1', text: 'SELECT $1', parameterTypes: [23] });
  });
  it('Bind (formats, a NULL and a binary parameter, result formats)', () => {
    const body = hex(`${z('p')}${z('s1')} 0002 0000 0001 0003 00000002 3432 ffffffff 00000004 00000007 0001 0001`);
    assert.deepEqual(decodeFrontendMessage(0x42, body), {
      type: 'Bind',
      portal: 'p',
      statement: 's1',
      parameterFormats: [0, 1],
      parameters: [Buffer.from('42'), null, hex('00000007')],
      resultFormats: [1],
    });
    assert.throws(() => decodeFrontendMessage(0x42, hex(`${z('')}${z('')} 0000 0001 00000010 41`)), /truncated Bind/);
  });
  it('Describe, Execute, Close', () => {
    assert.deepEqual(decodeFrontendMessage(0x44, hex(`53${z('s1')}`)), { type: 'Describe', target: 'S', name: 's1' });
    assert.deepEqual(decodeFrontendMessage(0x45, hex(`${z('')} 00000064`)), { type: 'Execute', portal: '', maxRows: 100 });
    assert.deepEqual(decodeFrontendMessage(0x43, hex(`50${z('p')}`)), { type: 'Close', target: 'P', name: 'p' });
    assert.throws(() => decodeFrontendMessage(0x44, hex(`58${z('x')}`)), /invalid Describe target/);
  });
  it('Sync, Flush, Terminate, CopyDone (empty bodies only)', () => {
    assert.deepEqual(decodeFrontendMessage(0x53, Buffer.alloc(0)), { type: 'Sync' });
    assert.deepEqual(decodeFrontendMessage(0x48, Buffer.alloc(0)), { type: 'Flush' });
    assert.deepEqual(decodeFrontendMessage(0x58, Buffer.alloc(0)), { type: 'Terminate' });
    assert.deepEqual(decodeFrontendMessage(0x63, Buffer.alloc(0)), { type: 'CopyDone' });
    assert.throws(() => decodeFrontendMessage(0x53, hex('00')), /trailing bytes in Sync/);
  });
  it('CopyData, CopyFail', () => {
    assert.deepEqual(decodeFrontendMessage(0x64, hex('310a')), { type: 'CopyData', data: hex('310a') });
    assert.deepEqual(decodeFrontendMessage(0x66, hex(z('aborted'))), { type: 'CopyFail', message: 'aborted' });
  });
  it('FunctionCall', () => {
    const body = hex('00000451 0001 0000 0001 00000003 616263 0000');
    assert.deepEqual(decodeFrontendMessage(0x46, body), { type: 'FunctionCall', functionOid: 1105, argumentFormats: [0], arguments: [Buffer.from('abc')], resultFormat: 0 });
  });
  it('rejects an unknown message type', () => {
    assert.throws(() => decodeFrontendMessage(0x21, Buffer.alloc(0)), /invalid frontend message type 33/);
  });
});

describe('backend messages (proxy → client), byte for byte', () => {
  it('SSL answers', () => {
    assert.deepEqual(encodeSslResponse(true), hex('53'));
    assert.deepEqual(encodeSslResponse(false), hex('4e'));
  });
  it('AuthenticationOk, AuthenticationCleartextPassword', () => {
    assert.deepEqual(encodeAuthenticationOk(), hex('52 00000008 00000000'));
    assert.deepEqual(encodeAuthenticationCleartextPassword(), hex('52 00000008 00000003'));
  });
  it('ParameterStatus', () => {
    assert.deepEqual(encodeParameterStatus('TimeZone', 'UTC'), hex(`53 00000011 ${z('TimeZone')}${z('UTC')}`));
  });
  it('BackendKeyData', () => {
    assert.deepEqual(encodeBackendKeyData(1111, -2), hex('4b 0000000c 00000457 fffffffe'));
  });
  it('ReadyForQuery', () => {
    assert.deepEqual(encodeReadyForQuery('T'), hex('5a 00000005 54'));
  });
  it('ErrorResponse and NoticeResponse (fields in PostgreSQL order)', () => {
    const body = `53${z('ERROR')}56${z('ERROR')}43${z('42501')}4d${z('no')}48${z('ask')}00`;
    assert.deepEqual(encodeErrorResponse({ M: 'no', C: '42501', S: 'ERROR', V: 'ERROR', H: 'ask' }), hex(`45 ${(4 + body.length / 2).toString(16).padStart(8, '0')} ${body}`));
    const n = `53${z('NOTICE')}43${z('00000')}4d${z('hi')}00`;
    assert.deepEqual(encodeNoticeResponse({ S: 'NOTICE', C: '00000', M: 'hi' }), hex(`4e ${(4 + n.length / 2).toString(16).padStart(8, '0')} ${n}`));
    assert.deepEqual(decodeNoticeFields(hex(body)), { S: 'ERROR', V: 'ERROR', C: '42501', M: 'no', H: 'ask' });
  });
  it('DataRow (encode and raw decode, NULL and binary values)', () => {
    const golden = hex('44 00000017 0003 00000002 6869 ffffffff 00000003 000102');
    assert.deepEqual(encodeDataRow([Buffer.from('hi'), null, hex('000102')]), golden);
    assert.deepEqual(decodeDataRow(golden.subarray(5)), [Buffer.from('hi'), null, hex('000102')]);
    assert.throws(() => decodeDataRow(hex('0002 00000001 41')), /truncated DataRow/);
  });
  it('CopyData, CommandComplete, NegotiateProtocolVersion', () => {
    assert.deepEqual(encodeCopyData(Buffer.from('1\n')), hex('64 00000006 310a'));
    assert.deepEqual(encodeCommandComplete('SELECT 1'), hex(`43 0000000d ${z('SELECT 1')}`));
    assert.deepEqual(encodeNegotiateProtocolVersion(0, ['_pq_.x']), hex(`76 00000013 00000000 00000001 ${z('_pq_.x')}`));
  });
});

describe('framing', () => {
  it('splits messages across arbitrary chunk boundaries', () => {
    const stream = Buffer.concat([encodeReadyForQuery('I'), encodeCommandComplete('SELECT 1'), encodeDataRow([Buffer.alloc(70_000, 1)])]);
    for (const size of [1, 3, 7, 4096]) {
      const framer = new MessageFramer({ typed: true, maxMessageBytes: 1 << 20 });
      const types: number[] = [];
      for (let i = 0; i < stream.length; i += size) {
        framer.push(stream.subarray(i, i + size));
        for (let f = framer.next(); f; f = framer.next()) types.push(f.type);
      }
      assert.deepEqual(types, [0x5a, 0x43, 0x44]);
      assert.equal(framer.bufferedBytes, 0);
    }
  });
  it('refuses oversized and negative lengths', () => {
    const framer = new MessageFramer({ typed: true, maxMessageBytes: 1024 });
    framer.push(hex('51 00100000'));
    assert.throws(() => framer.next(), /exceeds the limit of 1024 bytes/);
    const bad = new MessageFramer({ typed: true, maxMessageBytes: 1024 });
    bad.push(hex('51 00000002'));
    assert.throws(() => bad.next(), /invalid message length 2/);
    const startup = new MessageFramer({ typed: false, maxMessageBytes: 10_000 });
    startup.push(hex('47455420'));
    assert.throws(() => startup.next(), /exceeds the limit/);
  });
});
