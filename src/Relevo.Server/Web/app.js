// Relevo search page. Document text is untrusted: everything from the API is put in the page with textContent
// or text nodes, never parsed as HTML. No outside resources: the page works offline.
'use strict';

const $ = (id) => document.getElementById(id);
let pipeline = null;
let sequence = 0;
let timer = 0;

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Text with [start, length] ranges wrapped in <mark>, built from text nodes only.
function highlighted(tag, className, text, ranges) {
  const e = el(tag, className);
  let pos = 0;
  for (const [start, length] of ranges || []) {
    if (start < pos || start + length > text.length) continue;
    e.append(document.createTextNode(text.slice(pos, start)));
    e.append(el('mark', null, text.slice(start, start + length)));
    pos = start + length;
  }
  e.append(document.createTextNode(text.slice(pos)));
  return e;
}

function fmt(x, digits) { return Number(x).toFixed(digits); }

async function loadPipelines() {
  const box = $('pipelines');
  try {
    const r = await fetch('/api/pipelines');
    const body = await r.json();
    pipeline = body.default;
    $('ask').hidden = !body.ask;
    box.replaceChildren();
    if (body.pipelines.length < 2) {
      box.append(el('span', 'muted', body.pipelines[0].label));
      return;
    }
    for (const p of body.pipelines) {
      const label = el('label');
      const input = el('input');
      input.type = 'radio';
      input.name = 'pipeline';
      input.value = p.pipeline;
      input.checked = p.pipeline === pipeline;
      input.addEventListener('change', () => { pipeline = p.pipeline; search(); });
      label.append(input, document.createTextNode(' ' + p.label));
      box.append(label);
    }
  } catch (e) {
    box.replaceChildren(el('span', 'error', 'cannot load pipelines: ' + e));
  }
}

async function loadInfo() {
  try {
    const r = await fetch('/api/stats');
    const s = await r.json();
    $('index-info').textContent = `${s.documents.toLocaleString()} documents · ${s.segments} segment${s.segments === 1 ? '' : 's'}`;
  } catch { /* the page still works */ }
}

function explanationTable(x) {
  const table = el('table', 'explain');
  const head = el('tr');
  for (const h of ['term', 'tf', 'df', 'idf', 'length', 'contribution']) head.append(el('th', null, h));
  table.append(head);
  for (const t of x.terms) {
    const row = el('tr', 'term');
    row.append(el('td', null, t.queryCount > 1 ? `${t.term} ×${t.queryCount}` : t.term),
      el('td', null, String(t.tf)), el('td', null, String(t.docFreq)), el('td', null, fmt(t.idf, 4)),
      el('td', null, `${t.docLength} (avg ${fmt(t.averageLength, 1)})`), el('td', 'contribution', fmt(t.score, 4)));
    table.append(row);
  }
  const sum = el('tr', 'sum');
  sum.append(el('td', null, `sum (k1 ${x.k1}, b ${x.b})`), el('td'), el('td'), el('td'), el('td'), el('td', 'total', fmt(x.score, 4)));
  table.append(sum);
  return table;
}

function render(body) {
  const list = $('results');
  list.replaceChildren();
  $('status').textContent = `${body.hits.length} result${body.hits.length === 1 ? '' : 's'} in ${fmt(body.tookMs, 1)} ms · ${body.pipeline}`;
  for (const h of body.hits) {
    const item = el('li', 'hit');
    item.dataset.id = h.id;
    item.append(highlighted('p', 'hit-title', h.title || h.id, h.title ? h.titleHighlights : []));
    const stages = Object.entries(h.stages).map(([k, v]) => `${k} ${fmt(v, 4)}`).join(' · ');
    const meta = el('p', 'hit-meta');
    meta.append(el('span', 'score', fmt(h.score, 4)), document.createTextNode(` · ${h.id} · ${stages}`));
    item.append(meta, highlighted('p', 'hit-snippet', h.snippet, h.snippetHighlights));
    if (h.explanation) item.append(explanationTable(h.explanation));
    list.append(item);
  }
}

async function search() {
  const q = $('q').value.trim();
  const mine = ++sequence;
  if (!q) {
    $('results').replaceChildren();
    $('status').textContent = '';
    return;
  }
  const params = new URLSearchParams({ q, k: '10' });
  if (pipeline) params.set('pipeline', pipeline);
  if ($('explain').checked) params.set('explain', 'true');
  try {
    const r = await fetch('/api/search?' + params);
    const body = await r.json();
    if (mine !== sequence) return; // a newer search is under way
    if (!r.ok) {
      $('results').replaceChildren();
      $('status').replaceChildren(el('span', 'error', body.error || `error ${r.status}`));
      return;
    }
    render(body);
    // the address bar holds the query, so a result page can be shared or reloaded
    history.replaceState(null, '', '?' + new URLSearchParams({ q }));
  } catch (e) {
    if (mine === sequence) $('status').replaceChildren(el('span', 'error', 'search failed: ' + e));
  }
}

// The answer, its citations and the passages it read: all as text (the model's output is untrusted too).
function renderAnswer(body) {
  const box = $('answer');
  box.replaceChildren();
  box.append(el('h2', null, 'Answer'), el('p', 'answer-text', body.answer));
  const meta = `${fmt(body.tookMs / 1000, 1)} s · cites ${body.citations.length ? body.citations.join(', ') : 'nothing'}` +
    (body.invalidCitations.length ? ` · removed made-up citations ${body.invalidCitations.join(', ')}` : '');
  box.append(el('p', 'muted', meta));
  const list = el('ol', 'passages');
  for (const p of body.passages) {
    const item = el('li', 'passage');
    item.append(el('p', 'hit-title', `[${p.id}] ${p.title || ''}`), el('p', 'hit-meta', `relevance ${fmt(p.relevance, 1)} / 10`),
      el('p', 'hit-snippet', p.text.length > 600 ? p.text.slice(0, 600) + '…' : p.text));
    list.append(item);
  }
  box.append(list);
}

async function ask() {
  const q = $('q').value.trim();
  if (!q) return;
  const box = $('answer');
  box.hidden = false;
  box.replaceChildren(el('p', 'muted', 'Answering…'));
  try {
    const r = await fetch('/api/ask', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ question: q, pipeline }),
    });
    const body = await r.json();
    if (!r.ok) {
      box.replaceChildren(el('p', 'error', body.error || `error ${r.status}`));
      return;
    }
    renderAnswer(body);
  } catch (e) {
    box.replaceChildren(el('p', 'error', 'asking failed: ' + e));
  }
}

$('ask').addEventListener('click', ask);
$('search-form').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(timer); search(); });
$('q').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 200); });
$('explain').addEventListener('change', search);
loadPipelines();
loadInfo();
const initial = new URLSearchParams(location.search).get('q');
if (initial) { $('q').value = initial; search(); }
