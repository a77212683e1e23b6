import { describe, expect, it } from 'vitest';
import { ResolveError, TcpListener, TcpStream, formatAddress, parseAddress, resolve } from '../../src/index.js';
import { catching, noLeak, run } from '../util.js';

describe('resolve() and host names', () => {
  it('parseAddress() splits and checks an address as bind and connect read it, without a lookup', () => {
    expect(parseAddress('[::1]:8088')).toEqual({ host: '::1', port: 8088 });
    expect(parseAddress('no-such-host.invalid:1')).toEqual({ host: 'no-such-host.invalid', port: 1 });
    expect(parseAddress({ port: 7 })).toEqual({ host: '127.0.0.1', port: 7 });
    expect(parseAddress({ address: '10.0.0.1', port: 9, family: 4 })).toEqual({ host: '10.0.0.1', port: 9 });
    expect(() => parseAddress('[127.0.0.1]:80')).toThrow(new TypeError("parseAddress(): '127.0.0.1' is not an IPv6 address"));
    expect(() => parseAddress({ host: '[::1]', port: 0 }, '--host')).toThrow(/^--host: '\[::1\]' is not a host/);
    expect(() => parseAddress('localhost:65536')).toThrow(RangeError);
  });

  it('parseAddress() refuses a host that could only fail at a lookup: spaces, a port inside it, a dotted quad out of range', () => {
    expect(() => parseAddress(' 127.0.0.1:80')).toThrow(new TypeError("parseAddress(): ' 127.0.0.1' is not a host: it contains white space"));
    expect(() => parseAddress({ host: '127.0.0.1:80', port: 1 })).toThrow(new TypeError("parseAddress(): '127.0.0.1:80' is not a host (its port is given apart from it)"));
    expect(() => parseAddress('256.1.1.1:80')).toThrow(new TypeError("parseAddress(): '256.1.1.1' is not an IPv4 address (a part is over 255)"));
    expect(parseAddress('127.0.0.01:80')).toEqual({ host: '127.0.0.01', port: 80 }); // zero-padded: getaddrinfo takes it
    expect(() => TcpStream.connect({ host: 'local host', port: 80 })).toThrow(/^TcpStream\.connect\(\): 'local host' is not a host/);
    expect(parseAddress({ host: '::1', port: 1 })).toEqual({ host: '::1', port: 1 });
    expect(parseAddress('1.2.3:80')).toEqual({ host: '1.2.3', port: 80 }); // inet_aton's short form (1.2.0.3): getaddrinfo takes it
  });

  it("parseAddress() checks a SocketAddress's family and refuses an array (family 7 and [] went through)", () => {
    expect(parseAddress({ address: '::1', port: 9, family: 6 })).toEqual({ host: '::1', port: 9 });
    expect(() => parseAddress({ address: '1.2.3.4', port: 80, family: 7 as 4 })).toThrow(new TypeError('parseAddress(): family must be 4 or 6, got number 7'));
    expect(() => parseAddress({ address: '127.0.0.1', port: 1, family: 6 })).toThrow(new TypeError("parseAddress(): '127.0.0.1' is an IPv4 address, but family says 6"));
    expect(() => parseAddress({ address: 'localhost', port: 1, family: 4 })).toThrow(/family goes with a numeric address/);
    expect(() => TcpStream.connect({ address: '127.0.0.1', port: 1, family: 6 })).toThrow(/^TcpStream\.connect\(\): '127\.0\.0\.1' is an IPv4 address/);
    expect(() => TcpStream.connect([] as never)).toThrow(/^TcpStream\.connect\(\): address must be 'host:port' or \{ host, port \}, got /);
  });

  it("ResolveError.code was 'EAI_NONAME': resolve() of a name that does not exist gives 'ENOTFOUND', as Node's dns does", () => {
    noLeak(() =>
      run((function* () {
        const err = (yield* catching(resolve('no-such-host.invalid'))) as ResolveError;
        expect(err).toBeInstanceOf(ResolveError);
        expect(err.code).toBe('ENOTFOUND');
        expect(err.hostname).toBe('no-such-host.invalid');
        expect(err.message).toMatch(/^cannot resolve 'no-such-host\.invalid': .*getaddrinfo EAI_NO(NAME|DATA).*\(ENOTFOUND\)$/);
        const viaConnect = (yield* catching(TcpStream.connect('no-such-host.invalid:80'))) as ResolveError;
        expect(viaConnect).toBeInstanceOf(ResolveError);
        expect(viaConnect.code).toBe('ENOTFOUND');
      })()),
    );
  });

  it('a host with a NUL byte failed only when awaited, naming lookupStart: connect(), bind() and resolve() reject it at the call', () => {
    const host = 'local\0host';
    expect(() => resolve(host)).toThrow(new TypeError("resolve(): host must not contain NUL characters, got 'local\\0host'"));
    expect(() => TcpStream.connect(`${host}:80`)).toThrow(/^TcpStream\.connect\(\): host must not contain NUL characters/);
    expect(() => TcpStream.connect({ host, port: 80 })).toThrow(/^TcpStream\.connect\(\): host must not contain NUL/);
    expect(() => TcpListener.bind(`${host}:0`)).toThrow(/^TcpListener\.bind\(\): host must not contain NUL/);
    expect(() => TcpListener.bind({ host, port: 0 })).toThrow(TypeError);
  });
});

describe('formatAddress()', () => {
  it('formats numeric IPv4 and IPv6 addresses', () => {
    expect(formatAddress({ address: '127.0.0.1', port: 7000, family: 4 })).toBe('127.0.0.1:7000');
    expect(formatAddress({ address: '::1', port: 7000, family: 6 })).toBe('[::1]:7000');
  });

  it("printed 'undefined:5' for the { host, port } form and a string: now a TypeError saying what it takes", () => {
    const bad: unknown[] = [{ host: '::1', port: 5 }, 'x', null, undefined, { address: '::1', port: 5 }, { address: 1, port: 5, family: 4 }];
    for (const a of bad) {
      expect(() => formatAddress(a as never), String(a)).toThrow(/^formatAddress\(\): expected a numeric address \{ address, port, family: 4 \| 6 \}, got /);
    }
    expect(() => formatAddress({ address: '::1', port: 70000, family: 6 })).toThrow(RangeError);
    expect(() => formatAddress({ address: '::1', port: 1.5, family: 6 })).toThrow(/port must be an integer/);
  });

  it('a SocketAddress (a listener\'s localAddress) is an address input: its address is used, not 127.0.0.1; other fields are refused', () => {
    noLeak(() =>
      run((function* () {
        let listener: TcpListener;
        try {
          listener = yield* TcpListener.bind({ address: '::1', port: 0, family: 6 });
        } catch {
          return; // no IPv6 loopback on this machine
        }
        expect(listener.localAddress.address).toBe('::1');
        const client = yield* TcpStream.connect(listener.localAddress);
        expect(client.peerAddress.address).toBe('::1');
        client.close();
        listener.close();
        expect(() => TcpStream.connect({ hostname: 'localhost', port: 80 } as never)).toThrow(
          /TcpStream.connect\(\): unknown address field 'hostname'/,
        );
        expect(() => TcpListener.bind({ port: 0, reusePort: true } as never)).toThrow(/unknown address field 'reusePort'/);
        expect(() => TcpStream.connect({ host: '::1', address: '127.0.0.1', port: 80 } as never)).toThrow(/a host or an address field, not both/);
      })()),
    );
  });
});
