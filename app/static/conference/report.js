// The printable report of a conference (/conference/report?id=N): the conference's title, its
// date and window in its own time zone, the totals, then a table per district, the sites with
// the most time down first. Laid out for A4 (report.css): a browser prints it to PDF as it is.
// The CSV and JSON are the API's, fetched with the dashboard's token and saved as files.
import { el, setText } from '../js/dom.js';
import { duration, millis, percent, score } from '../js/text.js';
import { getToken } from '../js/token.js';
import { districtName } from './board.js';
import { conferenceId, conferencePath, read } from './http.js';
import { statusWord } from './reason.js';
import { onLangChange, t, toggleLang, translate } from './i18n.js';
import { clockIn, dateIn, dateTimeIn, timeIn } from './zone.js';

const byId = (id) => document.getElementById(id);
const id = conferenceId();
let loaded = null; // { conference, report }

translate();
byId('lang-switch').addEventListener('click', toggleLang);
byId('print').addEventListener('click', () => window.print());
onLangChange(draw);

function say(text) {
  setText(byId('message'), text);
}

const present = (count, expected) => `${count}/${expected}`;

/** The totals; `sites` every site of the report, for those ready at the start. */
function totalsRows(totals, sites) {
  const ready = sites.filter((site) => site.ready_at_start).length;
  const rows = [
    ['report.sites', String(totals.sites)],
    ['report.readyAtStart', `${ready}/${sites.length}`],
    ['report.uptime', percent(totals.uptime_ratio)],
    ['report.up', duration(totals.seconds.up)],
    ['report.degraded', duration(totals.seconds.degraded)],
    ['report.down', duration(totals.seconds.down)],
    ['report.maintenance', duration(totals.seconds.maintenance)],
    ['report.incidents', String(totals.incidents)],
    ['report.present', present(totals.attendance, totals.expected_delegates)],
    ['report.silent', String(totals.sites_without_attendance)],
  ];
  return rows.map(([key, value]) => el('tr', { dataset: { fact: key.slice(7) } }, [
    el('th', { scope: 'row' }, t(key)),
    el('td', {}, value),
  ]));
}

const COLUMNS = [
  'col.site', 'report.readyAtStart', 'report.up', 'report.degraded', 'report.down',
  'report.maintenance', 'report.uptime', 'report.incidents',
  'report.rtt', 'report.loss', 'report.mos', 'col.present',
];

function siteRow(site) {
  const cells = [
    t(site.ready_at_start ? 'report.yes' : 'report.no'),
    duration(site.seconds.up),
    duration(site.seconds.degraded),
    duration(site.seconds.down),
    duration(site.seconds.maintenance),
    percent(site.uptime_ratio),
    String(site.incidents.length),
    millis(site.worst_rtt_seconds),
    percent(site.worst_loss_ratio),
    score(site.worst_mos),
    site.attendance === null ? `—/${site.expected_delegates}` : present(site.attendance, site.expected_delegates),
  ];
  return el('tr', { dataset: { site: site.code } }, [
    el('th', { scope: 'row' }, [site.name, el('span', { class: 'code' }, ` ${site.code}`)]),
    ...cells.map((value) => el('td', {}, value)),
  ]);
}

/** Most time down first, then the most time degraded, then by name. */
function worstFirst(sites) {
  return [...sites].sort((a, b) => b.seconds.down - a.seconds.down
    || b.seconds.degraded - a.seconds.degraded || a.name.localeCompare(b.name));
}

/** The district's incidents within the window, the longest first, each with its site. */
function incidentList(sites, zone) {
  const incidents = sites
    .flatMap((site) => site.incidents.map((incident) => ({ site, incident })))
    .sort((a, b) => b.incident.seconds_in_window - a.incident.seconds_in_window);
  if (!incidents.length) return null;
  return el('div', { class: 'incidents' }, [
    el('h3', {}, t('report.incidentList')),
    el('ul', {}, incidents.map(({ site, incident }) => el('li', { dataset: { incident: incident.id } },
      t('report.incident', {
        site: site.name,
        severity: statusWord(incident.severity),
        from: timeIn(incident.opened_at, zone),
        to: incident.closed_at ? timeIn(incident.closed_at, zone) : t('report.open'),
        duration: duration(incident.seconds_in_window),
      })))),
  ]);
}

function district(d, zone) {
  const totals = d.totals;
  return el('section', { class: 'district', dataset: { district: d.code ?? '' } }, [
    el('h2', {}, districtName(d.name)),
    el('p', { class: 'district-totals' }, t('report.districtTotals', {
      sites: totals.sites,
      uptime: percent(totals.uptime_ratio),
      incidents: totals.incidents,
      present: totals.attendance,
      expected: totals.expected_delegates,
    })),
    el('table', { class: 'sites' }, [
      el('thead', {}, el('tr', {}, COLUMNS.map((key) => el('th', { scope: 'col' }, t(key))))),
      el('tbody', {}, worstFirst(d.sites).map(siteRow)),
    ]),
    incidentList(d.sites, zone),
  ]);
}

function draw() {
  if (!loaded) return;
  const { conference, report } = loaded;
  const zone = conference.time_zone;
  document.title = `${report.title} — ${t('report.title')}`;
  setText(byId('report-title'), report.title);
  setText(byId('report-date'), dateIn(report.window_start, zone));
  setText(byId('report-window'), t('report.window', {
    from: dateTimeIn(report.window_start, zone), to: dateTimeIn(report.window_end, zone),
  }));
  let state = t('report.final');
  if (report.phase === 'planned' || report.phase === 'preflight') state = t('report.notStarted');
  else if (!report.complete) state = t('report.soFar', { time: clockIn(report.window_end, zone) });
  setText(byId('report-state'), state);
  const sites = report.districts.flatMap((d) => d.sites);
  byId('totals').tBodies[0].replaceChildren(...totalsRows(report.totals, sites));
  byId('districts').replaceChildren(...report.districts.map((d) => district(d, zone)));
  byId('report-none').hidden = report.totals.sites > 0;
  setText(byId('report-made'), t('report.made', { time: dateTimeIn(new Date(), zone) }));
  byId('report').hidden = false;
}

/** Saves the API's answer at `path` as a file, with the token a plain link could not send. */
async function download(event, path, filename) {
  event.preventDefault();
  const headers = getToken() ? { Authorization: `Bearer ${getToken()}` } : {};
  try {
    const response = await fetch(path, { headers, cache: 'no-store' });
    if (!response.ok) throw new Error(t('page.failed', { detail: response.status }));
    const url = URL.createObjectURL(await response.blob());
    const link = el('a', { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    say(error.message);
  }
}

async function load() {
  const path = conferencePath(id);
  byId('back').href = `/conference?id=${id}`;
  const csv = byId('csv');
  const json = byId('json');
  csv.href = `${path}/report?format=csv`;
  json.href = `${path}/report`;
  csv.addEventListener('click', (e) => download(e, csv.href, `conference-${id}-report.csv`));
  json.addEventListener('click', (e) => download(e, json.href, `conference-${id}-report.json`));
  say(t('page.loading'));
  try {
    const [conference, report] = await Promise.all([read(path), read(`${path}/report`)]);
    loaded = { conference, report };
    say('');
    draw();
  } catch (error) {
    if (error.status === 401) say(t('report.signIn'));
    else if (error.status === 404) say(t('page.notFound'));
    else say(t('page.failed', { detail: error.message }));
  }
}

if (id === null) say(t('page.noId'));
else load();
