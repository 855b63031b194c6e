interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- --profile`, or node --cpu-prof): where the time went,
 * by function (self time) and by package or source file, and the inclusive time of our own functions.
 * A .heapprofile (`--heap-profile`) is summarized the same way, in bytes still alive.
 *   node <cache>/bench/profile-summary.js <file.cpuprofile|file.heapprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<package> (scoped too), our dist file, or the V8/Node category in parentheses. */
function where(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`;
  // The runner's copy of the build: <repo>/node_modules/.cache/jelmore-bench/server-<pid>/...
  url = url.replace(/^.*\/\.cache\/jelmore-bench\/(server-\d+\/)?/, '/');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/(apps|libs|bench)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url.replace(/^node:/, 'node:');
}

function heap(file: string, top: number): void {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const inclusiveOurs = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, ours: string[]) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const place = where(url, functionName);
    const key = `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}`;
    const stack = /\/(apps|libs)\//.test(url) && !ours.includes(key) ? [...ours, key] : ours;
    if (node.selfSize > 0) {
      total += node.selfSize;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
      byPlace.set(place, (byPlace.get(place) ?? 0) + node.selfSize);
      for (const k of stack) inclusiveOurs.set(k, (inclusiveOurs.get(k) ?? 0) + node.selfSize);
    }
    node.children.forEach((c) => walk(c, stack));
  };
  walk(head, []);
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `${(bytes / 2 ** 20).toFixed(1).padStart(8)} MiB ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${key}`,
      );
    }
  };
  console.log(`${file}: ${(total / 2 ** 20).toFixed(1)} MiB sampled as alive`);
  print('Alive, by package or file that allocated it', byPlace);
  print('Alive, by allocating function', byFunction);
  print('Alive, allocated under our functions', inclusiveOurs);
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile|file.heapprofile> [top]');
  const top = Number(topArg ?? 25);
  if (file.endsWith('.heapprofile')) return heap(file, top);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from the samples (µs each sample stands for).
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const total = (profile.endTime - profile.startTime) / 1000;

  const bump = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us);
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const inclusiveOurs = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const place = where(url, functionName);
    bump(byFunction, `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}`, us);
    bump(byPlace, place, us);
    // Charge the sample to each distinct function of ours on its stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!/\/(apps|libs)\//.test(frame.url) || frame.url.includes('node_modules/.pnpm')) continue;
      const key = `${frame.functionName || '(anonymous)'} ${where(frame.url, '')}:${frame.lineNumber + 1}`;
      if (!seen.has(key)) bump(inclusiveOurs, key, us);
      seen.add(key);
    }
  }
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `${(us / 1000).toFixed(1).padStart(9)} ms ${((us / 1000 / total) * 100).toFixed(1).padStart(5)}%  ${key}`,
      );
    }
  };
  console.log(`${file}: ${total.toFixed(0)} ms, ${profile.samples.length} samples`);
  print('Self time by package or file', byPlace);
  print('Self time by function', byFunction);
  print('Inclusive time of our functions', inclusiveOurs);
}

main();
