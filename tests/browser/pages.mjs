// The server's pages in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core).  run_browser.py starts the stack, submits the tasks
// and writes the JSON this reads (argv[2]): the pages, their URLs and the
// numbers their charts must carry.  For every page, at 1280x900 and on a
// 390x844 phone: no request leaves the server's origin (the report and the
// comparison make exactly one: the page), no dialog, no console error, no CSP
// violation; the page headers; each chart of the pages contract with its
// marks' data-value equal to the task's numbers; no sideways overflow on the
// phone; hostile strings present as text and never as markup.  The
// dashboard must also bring in a task that finishes after it loaded, without
// a reload, without JavaScript reload itself (its noscript meta refresh), and
// behind api_tokens_file ask for Basic and keep refreshing once signed in.
// Full-page screenshots go to the artifacts directory.
// Exit status: 0 all passed, 1 a check failed.
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const allowMissing = process.env.JT_ALLOW_MISSING_PAGES === '1';
const VIEWPORTS = [
	{ name: 'desktop', width: 1280, height: 900, mobile: false },
	{ name: 'phone', width: 390, height: 844, mobile: true },
];
const REL = 1e-9;
let failures = 0, passes = 0, missing = 0;

function fail(where, what) { failures++; console.log(`FAIL ${where}: ${what}`); }
function ok(where, what) { passes++; console.log(`ok   ${where}: ${what}`); }
function check(where, cond, what, detail = '') {
	if (cond) ok(where, what); else fail(where, what + (detail ? ` (${detail})` : ''));
}

// The page prints data-value with "%.9g": the task's number to 9 significant
// digits, within REL of it (or exactly that rounding when it is coarser).
function same(v, want) {
	if (typeof want !== 'number' || !Number.isFinite(v)) return false;
	return Math.abs(v - want) <= REL * Math.abs(want) || v === Number(want.toPrecision(9));
}

async function marksOf(page, chart) {
	return page.$$eval(`svg.chart[data-chart="${chart}"] .mark`, els => els.map(e => ({
		label: e.getAttribute('data-label'), value: Number(e.getAttribute('data-value')),
		low: e.getAttribute('data-ci-low'), high: e.getAttribute('data-ci-high'),
	})));
}

async function checkCharts(page, where, charts) {
	for (const [name, want] of Object.entries(charts || {})) {
		const w = `${where} chart ${name}`;
		const svg = await page.$(`svg.chart[data-chart="${name}"]`);
		if (!svg) { fail(w, 'is missing'); continue; }
		const marks = await marksOf(page, name);
		if (name === 'trials') {
			const got = marks.map(m => m.value).sort((a, b) => a - b);
			const exp = [...want.values].sort((a, b) => a - b);
			check(w, got.length === exp.length && got.every((v, i) => same(v, exp[i])),
				`${exp.length} marks carry the kept trials' energies`, JSON.stringify(got));
			const attrs = await svg.evaluate(e => ['data-median', 'data-ci-low', 'data-ci-high']
				.map(a => Number(e.getAttribute(a))));
			check(w, same(attrs[0], want.median) && same(attrs[1], want.ci[0]) && same(attrs[2], want.ci[1]),
				'median and 95% interval', JSON.stringify(attrs));
		} else if (name === 'compare') {
			check(w, marks.length === want.length, `${want.length} marks`, `got ${marks.length}`);
			for (const m of want) {
				const g = marks.find(x => x.label === m.label);
				check(w, g && same(g.value, m.value) && same(Number(g.low), m.ci[0]) && same(Number(g.high), m.ci[1]),
					`${m.label.slice(0, 8)}: energy per call and its interval`, JSON.stringify(g));
			}
		} else {   // label → value pairs
			check(w, marks.length === want.length, `${want.length} marks`, `got ${marks.length}`);
			for (const [label, value] of want) {
				const g = marks.find(x => x.label === label);
				check(w, g && same(g.value, value), `"${label}" = ${value}`, JSON.stringify(g));
			}
		}
	}
}

// Present as text, absent as markup: no element or attribute from them.
async function checkHostile(page, where, texts, scripts) {
	const r = await page.evaluate(() => {
		const all = [...document.querySelectorAll('*')];
		return {
			text: document.body.textContent,
			evil: all.filter(e => e.tagName.toLowerCase().startsWith('jt-evil')).length,
			scripts: document.scripts.length,
			media: document.querySelectorAll('img, iframe, object, embed, frame').length,
			on: all.flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on'))
				.map(a => `${e.tagName}.${a.name}`)),
			pwned: window.__pwned,
		};
	});
	for (const t of texts) check(where, r.text.includes(t), `shows ${JSON.stringify(t.slice(0, 40))} as text`);
	check(where, r.evil === 0, 'no element from a hostile string', `${r.evil} jt-evil elements`);
	check(where, r.scripts === scripts, `only the page's own scripts (${scripts})`, `${r.scripts}`);
	check(where, r.media === 0, 'no img/iframe/object', `${r.media}`);
	check(where, r.on.length === 0, 'no on* attribute', r.on.join(','));
	check(where, r.pwned === undefined, 'no hostile script ran');
}

async function open(browser, p, vp) {
	const where = `${p.name} ${vp.name}`;
	const ctx = await browser.newContext({ viewport: { width: vp.width, height: vp.height },
		isMobile: vp.mobile, hasTouch: vp.mobile, deviceScaleFactor: 1 });
	const page = await ctx.newPage();
	const seen = { requests: [], errors: [], dialogs: [] };
	page.on('request', r => seen.requests.push(r.url()));
	page.on('console', m => {
		// the page's own expected error status is logged too: not a fault
		const own = p.status && m.location().url === cfg.base + p.url &&
			m.text().includes(`status of ${p.status}`);
		if (m.type() === 'error' && !own) seen.errors.push(m.text());
	});
	page.on('pageerror', e => seen.errors.push(String(e)));
	page.on('dialog', d => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	await page.addInitScript(() => {
		window.__csp = [];
		document.addEventListener('securitypolicyviolation',
			e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
	});
	const resp = await page.goto(cfg.base + p.url, { waitUntil: 'networkidle' });
	return { where, ctx, page, seen, resp };
}

async function finish(o, p) {
	const { where, page, seen } = o;
	const csp = await page.evaluate(() => window.__csp);
	const foreign = seen.requests.filter(u => new URL(u).origin !== new URL(cfg.base).origin);
	check(where, foreign.length === 0, 'no request off the server\'s origin', foreign.join(' '));
	if (p.single_request)
		check(where, seen.requests.length === 1, 'exactly one request: the page', seen.requests.join(' '));
	check(where, seen.dialogs.length === 0, 'no dialog', seen.dialogs.join(' | '));
	check(where, seen.errors.length === 0, 'no console error', seen.errors.join(' | '));
	check(where, csp.length === 0, 'no CSP violation', csp.join(' | '));
	await o.ctx.close();
}

async function checkPage(browser, p) {
	if (!p.available) {
		console.log(`NOT AVAILABLE ${p.name}: the server does not serve ${p.url} as a page`);
		missing++;
		return;
	}
	for (const vp of VIEWPORTS) {
		const o = await open(browser, p, vp);
		const { where, page, resp } = o;
		const h = resp.headers();
		const status = p.status || 200;
		check(where, resp.status() === status, `answers ${status}`, `${resp.status()}`);
		check(where, h['content-type'] === 'text/html; charset=utf-8', 'text/html; charset=utf-8', h['content-type']);
		check(where, (h['content-security-policy'] || '').includes("default-src 'none'"), 'a CSP', h['content-security-policy']);
		check(where, h['x-content-type-options'] === 'nosniff', 'nosniff');
		check(where, (h['cache-control'] || '').includes('no-store'), 'no-store');
		for (const s of p.sections || [])
			check(where, await page.$(`#${s}`) !== null, `section #${s}`);
		await checkCharts(page, where, p.charts);
		if (p.hostile) await checkHostile(page, where, p.hostile, p.name === 'dashboard' ? 1 : 0);
		if (p.name === 'dashboard') await checkDashboard(page, where, p, vp);
		if (vp.mobile) {
			const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
			check(where, w[0] <= w[1], 'no sideways overflow', `scrollWidth ${w[0]} > ${w[1]}`);
		}
		mkdirSync(cfg.artifacts, { recursive: true });
		await page.screenshot({ path: join(cfg.artifacts, `${p.name}-${vp.name}.png`), fullPage: true });
		if (p.screenshot && cfg.docs_img && !vp.mobile) {
			// the README's: one screen, 1280 wide, at most 1100 tall
			const height = Math.min(1100, await page.evaluate(() => document.documentElement.scrollHeight));
			await page.setViewportSize({ width: 1280, height });
			mkdirSync(cfg.docs_img, { recursive: true });
			await page.screenshot({ path: join(cfg.docs_img, `${p.screenshot}.png`), fullPage: false });
		}
		await finish(o, p);
	}
}

async function checkDashboard(page, where, p, vp) {
	const q = await page.$eval('#queue', e => [e.dataset.queued, e.dataset.running]);
	check(where, q[0] === String(p.counts.queued) && q[1] === String(p.counts.running),
		'#queue data-queued/data-running', JSON.stringify(q));
	check(where, await page.$(`#hosts tr[data-host="${p.host_id}"]`) !== null, `host ${p.host_id} listed`);
	const cal = await page.$eval(`#hosts tr[data-host="${p.host_id}"] .calibration`, e => e.textContent);
	check(where, /(just now|\d+ (s|min|h|days) ago)/.test(cal) && /UTC/.test(cal),
		'calibration age in words and its exact time', cal);
	check(where, (await page.$$('#workers tr[data-worker]')).length >= 1, 'workers listed');
	for (const t of p.tasks) {
		const row = await page.$(`#recent tr[data-task-id="${t.id}"]`);
		if (!row) { fail(where, `task ${t.id} listed`); continue; }
		const r = await row.evaluate(e => ({
			status: e.dataset.status, epc: e.querySelector('.epc').getAttribute('data-value'),
			report: e.querySelector('a[href$="/report"]')?.getAttribute('href'),
		}));
		check(where, r.status === t.status, `task ${t.id.slice(0, 8)} ${t.status}`, r.status);
		if (t.epc != null) check(where, same(Number(r.epc), t.epc), `task ${t.id.slice(0, 8)} energy per call`, r.epc);
		check(where, r.report === `/api/v1/tasks/${t.id}/report`, `task ${t.id.slice(0, 8)} links its report`, r.report);
	}
	if (vp.mobile) return;
	// pick two tasks: the compare link names them, and survives a refresh
	const picks = await page.$$('#recent input.pick');
	check(where, picks.length >= 2, 'completed tasks can be picked', `${picks.length}`);
	if (picks.length >= 2) {
		const vals = [await picks[0].getAttribute('value'), await picks[1].getAttribute('value')];
		await picks[0].check();
		await picks[1].check();
		const href = await page.$eval('#compare-link', e => e.hidden ? null : e.getAttribute('href'));
		check(where, href === `/compare?ids=${vals.join(',')}`, 'the compare link names the picked tasks', href);
	}
	// a task that finishes after the page loaded appears without a reload
	await page.evaluate(() => { window.__sameDocument = 'yes'; });
	const before = await page.$eval('#asof', e => e.dataset.now);
	const r = await fetch(cfg.base + '/api/v1/measure', { method: 'POST',
		headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(p.late_task) });
	const late = (await r.json()).task_id;
	check(where, r.status === 202 && late, 'the late task is accepted', `${r.status}`);
	try {
		await page.waitForSelector(`#recent tr[data-task-id="${late}"][data-status="completed"]`,
			{ timeout: 150000, state: 'attached' });
		ok(where, 'a task finishing after the page loaded appears as completed');
	} catch (e) {
		fail(where, `task ${late} never appeared as completed: ${e.message.split('\n')[0]}`);
	}
	const after = await page.evaluate(() => [window.__sameDocument, document.querySelector('#asof').dataset.now,
		document.documentElement.dataset.live, document.querySelectorAll('#recent input.pick:checked').length]);
	check(where, after[0] === 'yes', 'without a reload (the same document)');
	check(where, after[1] !== before && after[2] === 'yes', 'the page swapped in fresh content', JSON.stringify(after));
	check(where, after[3] === 2, 'the picked tasks stay picked across refreshes', `${after[3]}`);
}

// Without JavaScript the dashboard reloads itself (its <noscript> meta refresh).
async function checkNoScript(browser, p) {
	const where = 'dashboard without JavaScript';
	const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	await page.goto(cfg.base + p.url);
	check(where, await page.$('meta[http-equiv="refresh"]') !== null, 'a meta refresh');
	try {
		await page.waitForRequest(r => r.isNavigationRequest() && r.url() === cfg.base + p.url,
			{ timeout: 30000 });
		ok(where, 'the page reloads itself');
	} catch (e) {
		fail(where, 'the page never reloaded');
	}
	await ctx.close();
}

// With api_tokens_file the dashboard asks for Basic, and once signed in its
// refresh carries the sign-in: the page keeps swapping in fresh content.
async function checkSignIn(browser, auth) {
	const where = 'dashboard with tokens';
	// (headless Chromium cancels a sign-in prompt, so this one is asked directly)
	const plain = await fetch(auth.base + '/');
	check(where, plain.status === 401 && /^Basic /.test(plain.headers.get('www-authenticate') || ''),
		'without a sign-in: 401 asking for Basic', `${plain.status} ${plain.headers.get('www-authenticate')}`);
	const ctx = await browser.newContext({ httpCredentials: { username: auth.user, password: auth.token } });
	const page = await ctx.newPage();
	const errors = [], foreign = [];
	page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
	page.on('request', r => { if (new URL(r.url()).origin !== new URL(auth.base).origin) foreign.push(r.url()); });
	const resp = await page.goto(auth.base + '/');
	check(where, resp.status() === 200, 'signed in: the page', `${resp.status()}`);
	const before = await page.$eval('#asof', e => e.dataset.now);
	try {
		await page.waitForFunction(b => document.documentElement.dataset.live === 'yes' &&
			document.querySelector('#asof').dataset.now !== b, before, { timeout: 20000 });
		ok(where, 'the refresh carries the sign-in');
	} catch (e) {
		fail(where, 'the page did not refresh signed in');
	}
	check(where, errors.length === 0 && foreign.length === 0, 'no console error, nothing off the origin',
		errors.concat(foreign).join(' | '));
	await ctx.close();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
	args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [] });
try {
	// a check that throws (a page that never loads) fails and the rest go on
	const guard = async (where, fn) => {
		try { await fn(); } catch (e) { fail(where, `threw: ${String(e.message || e).split('\n')[0]}`); }
	};
	for (const p of cfg.pages) await guard(p.name, () => checkPage(browser, p));
	const dash = cfg.pages.find(p => p.name === 'dashboard');
	if (dash) await guard('dashboard without JavaScript', () => checkNoScript(browser, dash));
	if (cfg.auth) await guard('dashboard with tokens', () => checkSignIn(browser, cfg.auth));
} finally {
	await browser.close();
}
console.log(`pages: ${passes} checks passed, ${failures} failed, ${missing} page(s) not available`);
if (missing && !allowMissing) console.log('pages: FAILED: pages not available (--allow-missing-pages to pass without them)');
process.exit(failures || (missing && !allowMissing) ? 1 : 0);
