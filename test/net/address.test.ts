import { describe, expect, it } from 'vitest';
import { ResolveError, TcpStream, resolve } from '../../src/index.js';
import { catching, noLeak, run } from '../util.js';

describe('resolve() and host names', () => {
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
});
