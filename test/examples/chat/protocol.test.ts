import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GROUP_CAPACITY, DEFAULT_MAX_GROUPS, DEFAULT_MAX_LINE, decodeFromClient, decodeFromServer, droppedMessages,
  encodeFromClient, encodeFromServer, groupDoesNotExist, lineTooLong, tooManyGroups, tooManyJoins,
} from '../../../examples/chat/protocol.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const request = (line: string) => decodeFromClient(bytes(line));
const rejected = (line: string | Uint8Array) => {
  const r = decodeFromClient(typeof line === 'string' ? bytes(line) : line);
  if (r.ok) throw new Error(`expected ${JSON.stringify(line)} to be rejected`);
  return r.error;
};

/** Strings that exercise every escaping rule of JSON.stringify and serde_json. */
const TRICKY = [
  '', 'plain', 'say "hi"', 'back\\slash', 'line\nbreak', 'cr\r tab\t bs\b ff\f', '\u0000\u0001\u001f\u007f',
  'slash / </script>', 'sep \u2028 \u2029', 'émoji 🐶 and 𝄞', 'ünïcødé 中文 한국어', "quote ' apostrophe", '\u00a0\ufeff',
];

describe('protocol constants and texts', () => {
  it('DEFAULT_MAX_LINE is 64 KiB, groups hold 1000 posts, at most 10,000 groups', () => {
    expect(DEFAULT_MAX_LINE).toBe(65536);
    expect(DEFAULT_GROUP_CAPACITY).toBe(1000);
    expect(DEFAULT_MAX_GROUPS).toBe(10_000);
  });

  it('groupDoesNotExist() quotes the group as the book does', () => {
    expect(groupDoesNotExist('cats')).toBe("Group 'cats' does not exist");
  });

  it('droppedMessages() puts the count first, the group last and ends with a full stop', () => {
    expect(droppedMessages(16311, 'dogs')).toBe('Dropped 16311 messages from dogs.');
  });

  it('lineTooLong(), tooManyGroups() and tooManyJoins() name their limit', () => {
    expect(lineTooLong(65536)).toBe('line too long (limit 65536 bytes)');
    expect(tooManyGroups(2)).toBe('too many groups (limit 2)');
    expect(tooManyJoins(3)).toBe('too many joins on this connection (limit 3)');
  });
});

describe('decodeFromClient()', () => {
  it('decodeFromClient() decodes Join and Post', () => {
    expect(request('{"Join":{"group_name":"dogs"}}')).toEqual({ ok: true, value: { kind: 'join', groupName: 'dogs' } });
    expect(request('{"Post":{"group_name":"dogs","message":"I love dogs!"}}')).toEqual({
      ok: true,
      value: { kind: 'post', groupName: 'dogs', message: 'I love dogs!' },
    });
  });

  it('decodeFromClient() accepts a trailing \\n or \\r\\n and whitespace around the value', () => {
    const join = { ok: true, value: { kind: 'join', groupName: 'dogs' } };
    expect(request('{"Join":{"group_name":"dogs"}}\n')).toEqual(join);
    expect(request('{"Join":{"group_name":"dogs"}}\r\n')).toEqual(join);
    expect(request(' \t {"Join" : { "group_name" : "dogs" } } \t\r\n')).toEqual(join);
  });

  it('decodeFromClient() accepts keys in any order and ignores unknown keys', () => {
    expect(request('{"Post":{"message":"hi","extra":[1,{"a":null}],"group_name":"dogs","x":true}}')).toEqual({
      ok: true,
      value: { kind: 'post', groupName: 'dogs', message: 'hi' },
    });
    expect(request('{"Join":{"nick":"rex","group_name":"dogs"}}')).toEqual({ ok: true, value: { kind: 'join', groupName: 'dogs' } });
  });

  it("decodeFromClient() accepts serde's array form", () => {
    expect(request('{"Post":["dogs","hi"]}')).toEqual({ ok: true, value: { kind: 'post', groupName: 'dogs', message: 'hi' } });
    expect(request('{"Join":["dogs"]}')).toEqual({ ok: true, value: { kind: 'join', groupName: 'dogs' } });
  });

  it('decodeFromClient() returns null for a blank line', () => {
    for (const line of ['', '\n', '\r\n', '   ', ' \t \r\n']) expect(request(line)).toEqual({ ok: true, value: null });
  });

  it('decodeFromClient() decodes escapes and non-BMP characters', () => {
    expect(request('{"Post":{"group_name":"\\u00e9\\ud83d\\udc36","message":"a\\"b\\\\c\\n\\u2028/"}}')).toEqual({
      ok: true,
      value: { kind: 'post', groupName: 'é🐶', message: 'a"b\\c\n\u2028/' },
    });
  });

  it('decodeFromClient() rejects invalid UTF-8', () => {
    for (const raw of [[0xff], [0x7b, 0xc3, 0x7d], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      expect(rejected(new Uint8Array(raw))).toBe('invalid request: invalid UTF-8');
    }
    const post = bytes('{"Post":{"group_name":"dogs","message":"x"}}');
    post[post.indexOf(0x78)] = 0xfe; // the "x" of the message
    expect(rejected(post)).toBe('invalid request: invalid UTF-8');
  });

  it('decodeFromClient() rejects text that is not JSON, a byte order mark included', () => {
    for (const line of ['hello', '{"Join":', '{"Join":{"group_name":dogs}}', "{'Join':{}}", '{"Join":{"group_name":"a\tb"}}', '\ufeff{"Join":{"group_name":"a"}}', '{"Join":{"group_name":"a",}}']) {
      expect(rejected(line)).toBe('invalid request: invalid JSON');
    }
  });

  it('decodeFromClient() says so when a line holds more than one JSON value', () => {
    for (const line of ['{"Join":{"group_name":"a"}}{"Join":{"group_name":"b"}}', '{"Join":{"group_name":"a"}} {"Post":["a","b"]}', '1 2', '"a""b"', '[] []', 'true false', '{"Join":["a"]} x']) {
      expect(rejected(line)).toBe('invalid request: expected one JSON value per line');
    }
  });

  it('decodeFromClient() rejects an unknown variant, naming it', () => {
    expect(rejected('{"Leave":{"group_name":"dogs"}}')).toBe('invalid request: unknown variant `Leave`, expected `Join` or `Post`');
    expect(rejected('{"join":{"group_name":"dogs"}}')).toBe('invalid request: unknown variant `join`, expected `Join` or `Post`');
    expect(rejected('{"Message":{"group_name":"a","message":"b"}}')).toBe('invalid request: unknown variant `Message`, expected `Join` or `Post`');
  });

  it('decodeFromClient() rejects anything but an object with exactly one key', () => {
    expect(rejected('{}')).toBe('invalid request: expected an object with one key, `Join` or `Post`, found 0 keys');
    expect(rejected('{"Join":{"group_name":"a"},"Post":["a","b"]}')).toBe('invalid request: expected an object with one key, `Join` or `Post`, found 2 keys');
    expect(rejected('"Join"')).toBe('invalid request: invalid type: string, expected an object with one key, `Join` or `Post`');
    expect(rejected('[{"Join":{"group_name":"a"}}]')).toBe('invalid request: invalid type: array, expected an object with one key, `Join` or `Post`');
    expect(rejected('null')).toBe('invalid request: invalid type: null, expected an object with one key, `Join` or `Post`');
    expect(rejected('42')).toBe('invalid request: invalid type: number, expected an object with one key, `Join` or `Post`');
  });

  it('decodeFromClient() rejects a missing field', () => {
    expect(rejected('{"Join":{}}')).toBe('invalid request: missing field `group_name`');
    expect(rejected('{"Join":{"groupName":"dogs"}}')).toBe('invalid request: missing field `group_name`');
    expect(rejected('{"Post":{"group_name":"dogs"}}')).toBe('invalid request: missing field `message`');
    expect(rejected('{"Post":{"message":"hi"}}')).toBe('invalid request: missing field `group_name`');
  });

  it('decodeFromClient() rejects a mistyped field, before a missing one as serde does', () => {
    expect(rejected('{"Join":{"group_name":5}}')).toBe('invalid request: invalid type for `group_name`: expected a string, found number');
    expect(rejected('{"Post":{"group_name":"a","message":null}}')).toBe('invalid request: invalid type for `message`: expected a string, found null');
    expect(rejected('{"Post":{"message":["hi"]}}')).toBe('invalid request: invalid type for `message`: expected a string, found array');
    expect(rejected('{"Post":["dogs",{"a":1}]}')).toBe('invalid request: invalid type for `message`: expected a string, found object');
    expect(rejected('{"Join":[true]}')).toBe('invalid request: invalid type for `group_name`: expected a string, found boolean');
  });

  it('decodeFromClient() rejects a variant body that is neither an object nor an array of the right length', () => {
    expect(rejected('{"Join":"dogs"}')).toBe('invalid request: invalid type for `Join`: expected an object or an array, found string');
    expect(rejected('{"Post":null}')).toBe('invalid request: invalid type for `Post`: expected an object or an array, found null');
    expect(rejected('{"Post":["dogs"]}')).toBe('invalid request: invalid length 1, expected 2 elements for `Post`');
    expect(rejected('{"Post":["dogs","hi","x"]}')).toBe('invalid request: invalid length 3, expected 2 elements for `Post`');
    expect(rejected('{"Join":[]}')).toBe('invalid request: invalid length 0, expected 1 element for `Join`');
  });

  it('decodeFromClient() rejects a lone surrogate in any string, keys and ignored values included', () => {
    for (const line of [
      '{"Join":{"group_name":"\\ud800"}}',
      '{"Post":{"group_name":"dogs","message":"a\\udfffb"}}',
      '{"Post":{"group_name":"dogs","message":"\\ude00\\ud83d"}}',
      '{"Post":["dogs","\\uDBFF"]}',
      '{"Join":{"group_name":"dogs","extra":[["\\udc00"]]}}',
      '{"Join":{"group_name":"dogs","\\ud800":1}}',
      '{"\\ud800":{}}',
    ]) {
      expect(rejected(line)).toBe('invalid request: lone UTF-16 surrogate in a string');
    }
    expect(request('{"Post":{"group_name":"dogs","message":"\\ud83d\\udc36 \\\\ud800"}}')).toEqual({
      ok: true,
      value: { kind: 'post', groupName: 'dogs', message: '🐶 \\ud800' },
    });
  });

  it('decodeFromClient() rejects a field or the variant given twice, as serde does (JSON.parse keeps the last)', () => {
    expect(rejected('{"Post":{"group_name":"g","message":"a","message":"b"}}')).toBe('invalid request: duplicate field `message`');
    expect(rejected('{"Join":{"group_name":"a","group_name":"b"}}')).toBe('invalid request: duplicate field `group_name`');
    expect(rejected('{"Post":{"message":"a", "group_name":"g", "message":"a"}}')).toBe('invalid request: duplicate field `message`');
    expect(rejected('{"Post":{"group_name":"g","message":"a","mess\\u0061ge":"b"}}')).toBe('invalid request: duplicate field `message`');
    expect(rejected('{"Post":{"group_name":"g","message":"a\\"\\\\","message":5}}')).toBe('invalid request: duplicate field `message`');
    // serde reads in order: the first value is checked before the second key is seen.
    expect(rejected('{"Post":{"group_name":"g","message":5,"message":"b"}}')).toBe('invalid request: invalid type for `message`: expected a string, found number');
    const twoKeys = 'invalid request: expected an object with one key, `Join` or `Post`, found 2 keys';
    expect(rejected('{"Join":{"group_name":"a"},"Join":{"group_name":"a"}}')).toBe(twoKeys);
    expect(rejected('{"J\\u006fin":{"group_name":"a"}, "Join" : {"group_name":"a"}}')).toBe(twoKeys);
    expect(rejected('{"Post":["g","a"],"Post":["g","b"]}')).toBe(twoKeys);
  });

  it('decodeFromClient() ignores unknown fields given twice, and key names inside strings', () => {
    const join = { ok: true, value: { kind: 'join', groupName: 'a' } };
    expect(request('{"Join":{"group_name":"a","x":1,"x":{"y":2,"y":3}}}')).toEqual(join);
    expect(request('{"Join":{"x":{"group_name":"b","group_name":"c"},"group_name":"a"}}')).toEqual(join);
    expect(request('{"Post":{"group_name":"\\"message\\"","message":"\\"message\\":\\"group_name\\""}}')).toEqual({
      ok: true,
      value: { kind: 'post', groupName: '"message"', message: '"message":"group_name"' },
    });
    expect(request('{"Post":["message","message"]}')).toEqual({ ok: true, value: { kind: 'post', groupName: 'message', message: 'message' } });
  });

  it('decodeFromClient() accepts an ignored value nested deeper than 128, as serde_json does', () => {
    // serde_json's recursion limit (128) guards what it deserializes; it skips an ignored value
    // iteratively, with no limit (checked against serde_json 1.0.87, the book's build).
    const deep = '['.repeat(200) + ']'.repeat(200);
    expect(request(`{"Join":{"group_name":"a","x":${deep}}}`)).toEqual({ ok: true, value: { kind: 'join', groupName: 'a' } });
  });

  it('decodeFromClient() survives deeply nested ignored values', () => {
    const deep = '['.repeat(20000) + '"\\ud800"' + ']'.repeat(20000);
    expect(rejected(`{"Join":{"group_name":"a","x":${deep}}}`)).toBe('invalid request: lone UTF-16 surrogate in a string');
  });
});

describe('encodeFromServer()', () => {
  it('encodeFromServer() writes the book\'s bytes, keys in order, then \\n', () => {
    expect(text(encodeFromServer({ kind: 'message', groupName: 'dogs', message: 'I love dogs!' }))).toBe(
      '{"Message":{"group_name":"dogs","message":"I love dogs!"}}\n',
    );
    expect(text(encodeFromServer({ kind: 'error', message: "Group 'cats' does not exist" }))).toBe(
      '{"Error":"Group \'cats\' does not exist"}\n',
    );
    expect(text(encodeFromServer({ kind: 'error', message: droppedMessages(16311, 'dogs') }))).toBe(
      '{"Error":"Dropped 16311 messages from dogs."}\n',
    );
  });

  it('encodeFromServer() escapes exactly as JSON.stringify does', () => {
    for (const s of TRICKY) {
      const expected = `{"Message":{"group_name":${JSON.stringify(s)},"message":${JSON.stringify(s + s)}}}\n`;
      const actual = encodeFromServer({ kind: 'message', groupName: s, message: s + s });
      expect(new Uint8Array(actual)).toEqual(new Uint8Array(Buffer.from(expected, 'utf8')));
      expect(text(encodeFromServer({ kind: 'error', message: s }))).toBe(`{"Error":${JSON.stringify(s)}}\n`);
    }
  });

  it('encodeFromServer() uses short escapes and lowercase \\u00XX, and keeps other characters raw', () => {
    expect(text(encodeFromServer({ kind: 'error', message: '"\\\n\r\t\b\f\u0001\u001f\u007f\u2028🐶/' }))).toBe(
      '{"Error":"\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\u007f\u2028🐶/"}\n',
    );
  });

  it('encodeFromServer() returns bytes that decodeFromServer() reads back', () => {
    for (const s of TRICKY) {
      expect(decodeFromServer(encodeFromServer({ kind: 'message', groupName: s, message: s }))).toEqual({
        ok: true,
        value: { kind: 'message', groupName: s, message: s },
      });
      expect(decodeFromServer(encodeFromServer({ kind: 'error', message: s }))).toEqual({ ok: true, value: { kind: 'error', message: s } });
    }
  });
});

describe('encodeFromClient()', () => {
  it('encodeFromClient() writes what serde_json writes', () => {
    expect(text(encodeFromClient({ kind: 'join', groupName: 'dogs' }))).toBe('{"Join":{"group_name":"dogs"}}\n');
    expect(text(encodeFromClient({ kind: 'post', groupName: 'Dogs', message: 'Samoyeds rock!' }))).toBe(
      '{"Post":{"group_name":"Dogs","message":"Samoyeds rock!"}}\n',
    );
  });

  it('encodeFromClient() escapes as JSON.stringify does and round-trips through decodeFromClient()', () => {
    for (const s of TRICKY) {
      const bytesOut = encodeFromClient({ kind: 'post', groupName: s, message: s });
      expect(text(bytesOut)).toBe(`{"Post":{"group_name":${JSON.stringify(s)},"message":${JSON.stringify(s)}}}\n`);
      expect(decodeFromClient(bytesOut)).toEqual({ ok: true, value: { kind: 'post', groupName: s, message: s } });
      expect(decodeFromClient(encodeFromClient({ kind: 'join', groupName: s }))).toEqual({ ok: true, value: { kind: 'join', groupName: s } });
    }
  });
});

describe('decodeFromServer()', () => {
  it('decodeFromServer() decodes Message (any key order, array form) and Error', () => {
    const message = { ok: true, value: { kind: 'message', groupName: 'dogs', message: 'hi' } };
    expect(decodeFromServer(bytes('{"Message":{"group_name":"dogs","message":"hi"}}\n'))).toEqual(message);
    expect(decodeFromServer(bytes('{"Message":{"message":"hi","group_name":"dogs","at":1}}\r\n'))).toEqual(message);
    expect(decodeFromServer(bytes('{"Message":["dogs","hi"]}'))).toEqual(message);
    expect(decodeFromServer(bytes('{"Error":"Dropped 3 messages from dogs."}'))).toEqual({
      ok: true,
      value: { kind: 'error', message: 'Dropped 3 messages from dogs.' },
    });
  });

  it('decodeFromServer() rejects what the book\'s client cannot parse, a blank line included', () => {
    const error = (line: string | Uint8Array) => {
      const r = decodeFromServer(typeof line === 'string' ? bytes(line) : line);
      return r.ok ? 'ok' : r.error;
    };
    expect(error('')).toBe('invalid reply: empty line');
    expect(error('garbage')).toBe('invalid reply: invalid JSON');
    expect(error(new Uint8Array([0x80]))).toBe('invalid reply: invalid UTF-8');
    expect(error('{"Error":"a"}{"Error":"b"}')).toBe('invalid reply: expected one JSON value per line');
    expect(error('{"Join":{"group_name":"dogs"}}')).toBe('invalid reply: unknown variant `Join`, expected `Message` or `Error`');
    expect(error('{"Error":{"message":"x"}}')).toBe('invalid reply: invalid type for `Error`: expected a string, found object');
    expect(error('{"Message":{"group_name":"dogs"}}')).toBe('invalid reply: missing field `message`');
    expect(error('{"Error":"\\ud800"}')).toBe('invalid reply: lone UTF-16 surrogate in a string');
    expect(error('{"Message":{"group_name":"a","group_name":"b","message":"m"}}')).toBe('invalid reply: duplicate field `group_name`');
    expect(error('{"Error":"a","Error":"b"}')).toBe('invalid reply: expected an object with one key, `Message` or `Error`, found 2 keys');
  });
});
