// How sites are grouped on the page: communes under their parent (a district, or a province in
// the national topology); the hub, provinces and districts themselves in a first group.
import { t } from './i18n.js';

export const TOP_GROUP = '_top';
const OTHER_GROUP = '_other';

export function groupKey(site, sites) {
  if (site.level !== 'commune') return TOP_GROUP;
  return site.parent_code && sites.has(site.parent_code) ? site.parent_code : OTHER_GROUP;
}

export function groupLabel(key, sites) {
  if (key === TOP_GROUP) {
    const hasDistricts = [...sites.values()].some((s) => s.level === 'district');
    return t(hasDistricts ? 'group.top.district' : 'group.top.province');
  }
  if (key === OTHER_GROUP) return t('group.other');
  return sites.get(key)?.name ?? key;
}

/** Group keys in display order: the top group, then parents in the snapshot's order. */
export function groupKeys(sites) {
  const keys = new Set([TOP_GROUP]);
  for (const site of sites.values()) keys.add(groupKey(site, sites));
  // Parents in the order of their own codes, so districts read like the official list.
  const [top, ...rest] = keys;
  rest.sort((a, b) => (a === OTHER_GROUP) - (b === OTHER_GROUP) || a.localeCompare(b));
  return [top, ...rest];
}
