// The site table's free chains: an outgoing list joins the free sites whole, unread, and every
// free site is handed out again before the table grows.

import { describe, expect, test } from 'vitest';
import { NONE } from '../../src/base.js';
import { SiteTable } from '../../src/rc/site-table.js';

/** Allocates `count` sites to node 0 with the usual addend, chained through nextOut as a list. */
function list(sites: SiteTable, count: number, addend = -4): number[] {
  const ids = Array.from({ length: count }, () => sites.allocate(0, 0, 0, addend, -4));
  for (let i = 0; i + 1 < ids.length; i++) sites.setNext(ids[i]!, ids[i + 1]!);
  return ids;
}

function freeIds(sites: SiteTable): number[] {
  const free = sites.freeSites();
  if (free === null) throw new Error('free chains are broken');
  return [...free.keys()].filter((s) => free[s] === 1);
}

describe('free chains', () => {
  test('whole lists, single sites and walked lists are all handed out again before the table grows', () => {
    const sites = new SiteTable();
    const a = list(sites, 3);
    const b = list(sites, 1);
    const c = list(sites, 2, 8); // custom addends: they go to the side map
    expect(sites.customAddendCount).toBe(2);
    sites.freeListUnread(a[0]!);
    sites.countFreed(3);
    sites.free(b[0]!);
    expect(sites.freeList(c[0]!)).toBe(2);
    expect(sites.customAddendCount).toBe(0);
    expect(sites.count).toBe(0);
    expect(freeIds(sites)).toEqual([...a, ...b, ...c].sort((x, y) => x - y));
    const limit = sites.idLimit;
    // The chains come back most recent first, each in its list's order.
    const again = Array.from({ length: 6 }, () => sites.allocate(1, 0, 0, -4, -4));
    expect(again).toEqual([...c, ...b, ...a]);
    expect(sites.idLimit).toBe(limit);
    expect(freeIds(sites)).toEqual([]);
    expect(sites.allocate(1, 0, 0, -4, -4)).toBe(limit);
  });

  test('a free site taken from the middle of the table leaves the rest of its chain reachable', () => {
    const sites = new SiteTable();
    const a = list(sites, 4);
    sites.freeListUnread(a[0]!);
    sites.countFreed(4);
    expect(sites.allocate(1, 0, 0, -4, -4)).toBe(a[0]);
    expect(freeIds(sites)).toEqual(a.slice(1));
    sites.free(a[0]!);
    expect(freeIds(sites)).toEqual(a);
  });

  test('freeSites reports a chain that loops', () => {
    const sites = new SiteTable();
    const a = list(sites, 3);
    sites.freeListUnread(a[0]!);
    sites.countFreed(3);
    sites.setNext(a[2]!, a[0]!);
    expect(sites.freeSites()).toBeNull();
    sites.setNext(a[2]!, NONE);
    expect(sites.freeSites()).not.toBeNull();
  });
});
