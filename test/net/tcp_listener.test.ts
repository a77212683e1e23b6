import { describe, expect, it } from 'vitest';
import { ClosedError, TcpListener, TcpStream, select, sleep, spawn, type JoinHandle, type Task } from '../../src/index.js';
import { catching, noLeak, run } from '../util.js';

/** A task that accepts one connection and returns it. */
function* acceptOne(listener: TcpListener): Task<TcpStream> {
  return yield* listener.accept();
}

/** Connects `n` clients to `listener` one after another. */
function* connectMany(listener: TcpListener, n: number): Task<TcpStream[]> {
  const clients: TcpStream[] = [];
  for (let i = 0; i < n; i++) clients.push(yield* TcpStream.connect(listener.localAddress));
  return clients;
}

describe('TcpListener.accept() from several tasks', () => {
  it('TcpListener.accept() in three tasks idles without spinning (acceptors woke each other forever), then each accepts', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const acceptors: JoinHandle<TcpStream>[] = [];
        for (let i = 0; i < 3; i++) acceptors.push(spawn(acceptOne(listener)));
        yield* sleep(10); // every acceptor is waiting
        const cpuBefore = process.cpuUsage();
        const wallBefore = performance.now();
        yield* sleep(300);
        const cpu = process.cpuUsage(cpuBefore);
        const wallMs = performance.now() - wallBefore;
        const cpuMs = (cpu.user + cpu.system) / 1000;
        // Spinning acceptors burn about the whole wall time; idle ones next to nothing.
        expect(cpuMs).toBeLessThan(wallMs * 0.3);
        const clients = yield* connectMany(listener, 3);
        const servers: TcpStream[] = [];
        for (const a of acceptors) servers.push(yield* a);
        expect(new Set(servers.map((s) => s.peerAddress.port))).toEqual(new Set(clients.map((c) => c.localAddress.port)));
        for (const s of [...clients, ...servers]) s.close();
        listener.close();
      })()),
    );
  });

  it('TcpListener.accept() cancelled in one task does not strand the other acceptors', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const a = spawn(acceptOne(listener));
        const b = spawn(acceptOne(listener));
        const c = spawn(acceptOne(listener));
        yield* sleep(10);
        b.cancel();
        // A fourth task keeps starting and dropping accepts (a select whose timer wins): each
        // drop must remove only its own waker.
        let dropped = 0;
        const fickle = spawn((function* (): Task<void> {
          for (;;) {
            yield* select(listener.accept(), sleep(5));
            dropped++;
          }
        })());
        yield* sleep(50);
        fickle.cancel();
        expect(dropped).toBeGreaterThan(2);
        const clients = yield* connectMany(listener, 2);
        const servers = [yield* a, yield* c];
        expect(servers.map((s) => s.peerAddress.port).sort()).toEqual(clients.map((s) => s.localAddress.port).sort());
        for (const s of [...clients, ...servers]) s.close();
        listener.close();
      })()),
    );
  });

  it('TcpListener.close() wakes every waiting acceptor with ClosedError', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const acceptors = [0, 1, 2].map(() => spawn(catching(listener.accept())));
        yield* sleep(10);
        listener.close();
        for (const a of acceptors) expect(yield* a).toBeInstanceOf(ClosedError);
      })()),
    );
  });

  it('TcpListener.accept() in a loop in two tasks shares a burst of connections', () => {
    noLeak(() =>
      run((function* () {
        const listener = yield* TcpListener.bind('127.0.0.1:0');
        const counts = [0, 0];
        const accepted: TcpStream[] = [];
        const loops = counts.map((_, i) =>
          spawn((function* (): Task<void> {
            for (;;) {
              accepted.push(yield* listener.accept());
              counts[i]++;
              yield* sleep(1); // let the other task take some
            }
          })()),
        );
        const clients = yield* connectMany(listener, 40);
        while (accepted.length < 40) yield* sleep(5);
        for (const l of loops) l.cancel();
        expect(counts[0] + counts[1]).toBe(40);
        for (const s of [...clients, ...accepted]) s.close();
        listener.close();
      })()),
    );
  });
});
