// Copyright 2026 the percpu authors. MIT license.

// Uncontended SpinMutex lock + unlock, as ratios to the floor: a bare
// Atomics.compareExchange + Atomics.store on a shared Int32Array. V8's native
// Atomics.Mutex joins when Deno runs with --v8-flags=--harmony-struct:
//
//   deno bench bench/spin_mutex_bench.ts
//   deno bench --v8-flags=--harmony-struct bench/spin_mutex_bench.ts
//
// The first group does ROUNDS lock/unlock pairs in one exceptionFree section,
// so that the section's own cost (bench/mask_bench.ts) is spread thin; the
// second has one pair per section, as most code does. The `using` entries
// mostly show what V8's explicit resource management costs, which the group
// "using, by itself" measures alone. For steady ratios run it several times:
//
//   deno run --allow-run --allow-read bench/ratios.ts --runs 7 bench/spin_mutex_bench.ts

import { exceptionFree, SpinMutex } from "../mod.ts";
import { MockPlatform } from "../platform/mock.ts";

const ROUNDS = 1000;
const platform = new MockPlatform({ cores: 1 });
const floor = new Int32Array(new SharedArrayBuffer(8));
const counter = new Int32Array(new SharedArrayBuffer(4));
const plain = new SpinMutex(counter);
const fair = new SpinMutex(counter, { fair: true });

/** V8's native mutex (`--v8-flags=--harmony-struct`), when this Deno has it. */
interface NativeMutex {
  new (): object;
  lock<R>(mutex: object, fn: () => R): R;
}
const native = (Atomics as unknown as { Mutex?: NativeMutex }).Mutex;

Deno.bench({
  group: "lock + unlock, uncontended",
  name: "floor: Atomics.compareExchange + Atomics.store",
  baseline: true,
  fn: () => {
    for (let i = 0; i < ROUNDS; i++) {
      if (Atomics.compareExchange(floor, 0, 0, 1) === 0) {
        floor[1]!++;
        Atomics.store(floor, 0, 0);
      }
    }
  },
});

Deno.bench({
  group: "lock + unlock, uncontended",
  name: "SpinMutex lock() + unlock()",
  fn: () => {
    exceptionFree(platform, (token) => {
      for (let i = 0; i < ROUNDS; i++) {
        const guard = plain.lock(token);
        guard.value[0]!++;
        guard.unlock();
      }
    });
  },
});

Deno.bench({
  group: "lock + unlock, uncontended",
  name: "SpinMutex using guard = lock()",
  fn: () => {
    exceptionFree(platform, (token) => {
      for (let i = 0; i < ROUNDS; i++) {
        using guard = plain.lock(token);
        guard.value[0]!++;
      }
    });
  },
});

Deno.bench({
  group: "lock + unlock, uncontended",
  name: "SpinMutex withLock()",
  fn: () => {
    exceptionFree(platform, (token) => {
      for (let i = 0; i < ROUNDS; i++) plain.withLock(token, increment);
    });
  },
});

Deno.bench({
  group: "lock + unlock, uncontended",
  name: "SpinMutex fair lock() + unlock()",
  fn: () => {
    exceptionFree(platform, (token) => {
      for (let i = 0; i < ROUNDS; i++) {
        const guard = fair.lock(token);
        guard.value[0]!++;
        guard.unlock();
      }
    });
  },
});

if (native !== undefined) {
  const mutex = new native();
  Deno.bench({
    group: "lock + unlock, uncontended",
    name: "V8 Atomics.Mutex.lock()",
    fn: () => {
      for (let i = 0; i < ROUNDS; i++) native.lock(mutex, () => counter[0]!++);
    },
  });
}

function increment(value: Int32Array): void {
  value[0]!++;
}

Deno.bench({
  group: "one lock per section",
  name: "exceptionFree() + compareExchange + store",
  baseline: true,
  fn: () => {
    exceptionFree(platform, () => {
      if (Atomics.compareExchange(floor, 0, 0, 1) === 0) {
        floor[1]!++;
        Atomics.store(floor, 0, 0);
      }
    });
  },
});

Deno.bench({
  group: "one lock per section",
  name: "exceptionFree() + withLock()",
  fn: () => {
    exceptionFree(platform, (token) => plain.withLock(token, increment));
  },
});

Deno.bench({
  group: "one lock per section",
  name: "exceptionFree() + lock() + unlock()",
  fn: () => {
    exceptionFree(platform, (token) => {
      const guard = plain.lock(token);
      guard.value[0]!++;
      guard.unlock();
    });
  },
});

Deno.bench({
  group: "one lock per section",
  name: "exceptionFree() + using guard = lock()",
  fn: () => {
    exceptionFree(platform, (token) => {
      using guard = plain.lock(token);
      guard.value[0]!++;
    });
  },
});

// What a `using` declaration costs by itself: the same block with and
// without `using` of a Disposable whose dispose does nothing.
const empty: Disposable = { [Symbol.dispose](): void {} };

Deno.bench({
  group: "using, by itself",
  name: "a block that increments",
  baseline: true,
  fn: () => {
    for (let i = 0; i < ROUNDS; i++) {
      counter[0]!++;
    }
  },
});

Deno.bench({
  group: "using, by itself",
  name: "the same block with using of an empty Disposable",
  fn: () => {
    for (let i = 0; i < ROUNDS; i++) {
      using _empty = empty;
      counter[0]!++;
    }
  },
});
