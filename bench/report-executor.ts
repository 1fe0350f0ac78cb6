// The executor's rows of the report (issue 18): bench/executor.bench.ts's figures.

import type { ExecutorResult } from './executor-figures.js';
import { ROUND_TRIP_TARGET_NS } from './executor-figures.js';
import { formatNs } from './harness.js';
import { times, type Row } from './report.js';

export function executorRows(e: ExecutorResult | undefined): Row[] {
  if (e === undefined || !e.available) return [];
  const { call, redefine } = e;
  return [
    {
      point: 'heap.call round trip in an executor (host to executor and back), median / p99',
      codeheap: `${formatNs(call.executorNs)} / ${formatNs(call.executorP99Ns)}`,
      limit: '—',
      peer: `${formatNs(call.nativeNs)} / ${formatNs(call.nativeP99Ns)} in this process (native memory)`,
      ratio: times(call.executorNs / call.nativeNs),
      target: `< ${formatNs(ROUND_TRIP_TARGET_NS)} median`,
      met: call.executorNs < ROUND_TRIP_TARGET_NS ? 'yes' : 'no',
    },
    {
      point: 'redefine with a backpatched caller on executor memory (the memfd shared)',
      codeheap: `${formatNs(redefine.executorNs)}; the next call ran the new body ${redefine.seenEveryTime ? 'every time' : 'NOT every time'} (${redefine.samples} redefines)`,
      limit: '—',
      peer: `${formatNs(redefine.nativeNs)} native memory`,
      ratio: times(redefine.executorNs / redefine.nativeNs),
      target: 'visible before redefine returns',
      met: redefine.seenEveryTime ? 'yes' : 'no',
    },
    ...(e.visibility === undefined ? [] : [{
      point: 'a backpatch\'s arrival in the executor: a thread there spinning on the caller\'s site, from redefine\'s start (median)',
      codeheap: `${formatNs(e.visibility.seenNs)}, before redefine returned in ${e.visibility.beforeReturn} of ${e.visibility.samples}`,
      limit: '—',
      peer: `${formatNs(e.visibility.redefineNs)} the redefine`,
      ratio: times(e.visibility.seenNs / e.visibility.redefineNs),
      target: 'visible before redefine returns (median)',
      met: e.visibility.seenNs < e.visibility.redefineNs ? 'yes' as const : 'no' as const,
    }]),
    ...(e.tcp === undefined ? [] : [{
      point: 'heap.call round trip over TCP on 127.0.0.1 (the bytes copied), median / p99',
      codeheap: `${formatNs(e.tcp.callNs)} / ${formatNs(e.tcp.callP99Ns)}`,
      limit: '—',
      peer: `${formatNs(call.executorNs)} with the memfd shared`,
      ratio: times(e.tcp.callNs / call.executorNs),
      target: '— (reported)',
      met: '—' as const,
    }, {
      point: `bytes sent over TCP per define of ${e.tcp.functions} functions of 16 bytes, and per redefine with its backpatched caller`,
      codeheap: `${e.tcp.bytesPerDefine} B / ${e.tcp.bytesPerRedefine} B`,
      limit: `${e.tcp.functions * 16} B of code`,
      peer: '—',
      ratio: times(e.tcp.bytesPerDefine / (e.tcp.functions * 16)),
      target: '— (reported)',
      met: '—' as const,
    }]),
  ];
}
