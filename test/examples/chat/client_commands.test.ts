import { describe, expect, it } from 'vitest';
import { HELP_TEXT, debugQuote, formatFromServer, parseCommand, unrecognizedCommand } from '../../../examples/chat/client_commands.js';

describe('parseCommand()', () => {
  it('parseCommand() turns `join GROUP` into a Join', () => {
    expect(parseCommand('join dogs')).toEqual({ kind: 'join', groupName: 'dogs' });
    expect(parseCommand('  join\tdogs  ')).toEqual({ kind: 'join', groupName: 'dogs' });
  });

  it('parseCommand() ignores a join line with anything after GROUP, as the book does', () => {
    expect(parseCommand('join dogs cats')).toEqual({ kind: 'ignored' });
    expect(parseCommand('join dogs  now please')).toEqual({ kind: 'ignored' });
  });

  it('parseCommand() turns `post GROUP MESSAGE...` into a Post, trimming only the leading spaces of the message', () => {
    expect(parseCommand('post dogs I love dogs!')).toEqual({ kind: 'post', groupName: 'dogs', message: 'I love dogs!' });
    expect(parseCommand('post dogs    two  inner  spaces   ')).toEqual({ kind: 'post', groupName: 'dogs', message: 'two  inner  spaces   ' });
    expect(parseCommand(' post\tdogs\t\tTabbed\tmessage\t')).toEqual({ kind: 'post', groupName: 'dogs', message: 'Tabbed\tmessage\t' });
  });

  it('parseCommand() posts an empty message for `post GROUP`', () => {
    expect(parseCommand('post dogs')).toEqual({ kind: 'post', groupName: 'dogs', message: '' });
    expect(parseCommand('post dogs    ')).toEqual({ kind: 'post', groupName: 'dogs', message: '' });
  });

  it('parseCommand() ignores blank lines and a bare join or post', () => {
    for (const line of ['', '   ', '\t', 'join', 'post', '  join  ', 'post   ']) expect(parseCommand(line)).toEqual({ kind: 'ignored' });
  });

  it('parseCommand() reports any other first word as unrecognized, keeping the whole line', () => {
    expect(parseCommand('leave dogs')).toEqual({ kind: 'unrecognized', line: 'leave dogs' });
    expect(parseCommand('  Join dogs ')).toEqual({ kind: 'unrecognized', line: '  Join dogs ' });
    expect(parseCommand('posting dogs hi')).toEqual({ kind: 'unrecognized', line: 'posting dogs hi' });
    expect(parseCommand('hello')).toEqual({ kind: 'unrecognized', line: 'hello' });
  });

  it("parseCommand() splits on Rust's whitespace: U+00A0 and U+3000 separate, U+FEFF does not", () => {
    expect(parseCommand('post\u00a0dogs\u3000hi')).toEqual({ kind: 'post', groupName: 'dogs', message: 'hi' });
    expect(parseCommand('post dogs\u0085 hi')).toEqual({ kind: 'post', groupName: 'dogs', message: 'hi' });
    expect(parseCommand('join \ufeffdogs')).toEqual({ kind: 'join', groupName: '\ufeffdogs' });
  });

  it('parseCommand() keeps non-ASCII group names and messages intact', () => {
    expect(parseCommand('post 개 멍멍 🐶')).toEqual({ kind: 'post', groupName: '개', message: '멍멍 🐶' });
  });
});

describe('unrecognizedCommand() and debugQuote()', () => {
  it('unrecognizedCommand() quotes the line in double quotes', () => {
    expect(unrecognizedCommand('leave dogs')).toBe('Unrecognized command: "leave dogs"');
  });

  it('debugQuote() escapes quotes and backslashes as Rust {:?} does', () => {
    expect(debugQuote('say "hi" \\ there')).toBe('"say \\"hi\\" \\\\ there"');
    expect(debugQuote("it's")).toBe('"it\'s"');
  });

  it('debugQuote() writes control characters as Rust does', () => {
    expect(debugQuote('a\tb\rc\nd\0e')).toBe('"a\\tb\\rc\\nd\\0e"');
    expect(debugQuote('\u0001\u001b\u007f\u0085')).toBe('"\\u{1}\\u{1b}\\u{7f}\\u{85}"');
  });

  it('debugQuote() escapes non-printable and combining characters but keeps printable ones raw', () => {
    expect(debugQuote('\u00a0\u200b\u2028\ufeff')).toBe('"\\u{a0}\\u{200b}\\u{2028}\\u{feff}"');
    expect(debugQuote('e\u0301')).toBe('"e\\u{301}"');
    expect(debugQuote('é 中文 🐶')).toBe('"é 中文 🐶"');
  });
});

describe('HELP_TEXT and formatFromServer()', () => {
  it('HELP_TEXT is the book\'s four lines', () => {
    expect(HELP_TEXT.split('\n')).toEqual([
      'Commands:',
      'join GROUP',
      'post GROUP MESSAGE...',
      'Type Control-D (on Unix) or Control-Z (on Windows) to close the connection.',
    ]);
  });

  it('formatFromServer() prints messages and errors as the book\'s client does', () => {
    expect(formatFromServer({ kind: 'message', groupName: 'dogs', message: 'I love dogs!' })).toBe('message posted to dogs: I love dogs!');
    expect(formatFromServer({ kind: 'message', groupName: 'dogs', message: '' })).toBe('message posted to dogs: ');
    expect(formatFromServer({ kind: 'error', message: "Group 'cats' does not exist" })).toBe("error from server: Group 'cats' does not exist");
  });
});
