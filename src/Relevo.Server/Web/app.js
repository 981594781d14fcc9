// Relevo search page. Document text is untrusted: everything from the API is put in the page with textContent
// or text nodes, never parsed as HTML. No outside resources: the page works offline.
'use strict';

const $ = (id) => document.getElementById(id);
let pipeline = null;
let typedFields = {};   // field -> type, from /api/stats
const filters = [];     // active clauses, each "field:\"value\"", joined with AND
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
    typedFields = s.fields || {};
    const sort = $('sort');
    for (const [field, type] of Object.entries(typedFields)) {
      for (const order of ['desc', 'asc']) {
        const o = el('option', null, `${field} ${order === 'desc' ? '↓' : '↑'}`);
        o.value = `${field}:${order}`;
        sort.append(o);
      }
    }
    $('sort-box').hidden = Object.keys(typedFields).length === 0;
  } catch { /* the page still works */ }
}

function explanationTable(x) {
  const table = el('table', 'explain');
  const head = el('tr');
  const ql = x.mu !== null && x.mu !== undefined;
  for (const h of ['term', 'tf', 'df', ql ? 'P(t|C)' : 'idf', 'length', 'contribution']) head.append(el('th', null, h));
  table.append(head);
  for (const t of x.terms) {
    const row = el('tr', 'term');
    row.append(el('td', null, t.queryWeight !== 1 ? `${t.term} ×${+t.queryWeight.toFixed(4)}` : t.term),
      el('td', null, String(t.tf)), el('td', null, String(t.docFreq)), el('td', null, ql ? t.idf.toPrecision(4) : fmt(t.idf, 4)),
      el('td', null, `${t.docLength} (avg ${fmt(t.averageLength, 1)})`), el('td', 'contribution', fmt(t.score, 4)));
    table.append(row);
  }
  const sum = el('tr', 'sum');
  sum.append(el('td', null, ql ? `sum (mu ${x.mu})` : `sum (k1 ${x.k1}, b ${x.b})`), el('td'), el('td'), el('td'), el('td'), el('td', 'total', fmt(x.score, 4)));
  table.append(sum);
  return table;
}

// A colour for a relevance: green for positive, red for negative, opaque in proportion to |r| / max.
function shade(r, max) {
  const a = max > 0 ? Math.min(1, Math.abs(r) / max) * 0.75 : 0;
  return r >= 0 ? `rgba(22, 163, 74, ${a.toFixed(3)})` : `rgba(220, 38, 38, ${a.toFixed(3)})`;
}

function signed(r) { return (r >= 0 ? '+' : '') + fmt(r, 4); }

// The document text with each word coloured by its relevance and each sentence underlined by the sentence's,
// hover for numbers; then the query's tokens the same way. Built from text nodes only.
function tokenView(a) {
  const box = el('div', 'relevance');
  box.append(el('p', 'muted', `cosine ${fmt(a.cosine, 4)} (${a.model}) · the tokens sum to it within ${(a.conservationError * 100).toFixed(3)}% · green raises the score, red lowers it`));
  const text = el('p', 'relevance-text');
  const maxWord = Math.max(1e-12, ...a.words.map((w) => Math.abs(w.relevance)));
  const maxSentence = Math.max(1e-12, ...a.sentences.map((s) => Math.abs(s.relevance)));
  let pos = 0, w = 0;
  for (const s of a.sentences) {
    if (s.start < pos) continue;
    text.append(document.createTextNode(a.text.slice(pos, s.start)));
    const sentence = el('span', 'sentence');
    sentence.style.borderBottomColor = shade(s.relevance, maxSentence);
    sentence.title = `sentence ${signed(s.relevance)}`;
    let at = s.start;
    while (w < a.words.length && a.words[w].start < s.start) w++;
    for (; w < a.words.length && a.words[w].end <= s.end; w++) {
      const word = a.words[w];
      if (word.start < at) continue;
      sentence.append(document.createTextNode(a.text.slice(at, word.start)));
      const span = el('span', 'word', a.text.slice(word.start, word.end));
      span.style.backgroundColor = shade(word.relevance, maxWord);
      span.title = `${signed(word.relevance)} (sentence ${signed(s.relevance)})`;
      span.dataset.relevance = String(word.relevance);
      sentence.append(span);
      at = word.end;
    }
    sentence.append(document.createTextNode(a.text.slice(at, s.end)));
    text.append(sentence);
    pos = s.end;
  }
  text.append(document.createTextNode(a.text.slice(pos)));
  box.append(text);
  const query = a.queryTokens.filter((t) => t.start >= 0);
  if (query.length) {
    const line = el('p', 'relevance-query', 'query: ');
    const maxQuery = Math.max(1e-12, ...query.map((t) => Math.abs(t.relevance)));
    for (const t of query) {
      const chip = el('span', 'word', t.token);
      chip.style.backgroundColor = shade(t.relevance, maxQuery);
      chip.title = signed(t.relevance);
      line.append(chip, document.createTextNode(' '));
    }
    box.append(line);
  }
  return box;
}

// Each input's share of a fused score as a small stacked bar, hover for numbers.
function fusionBar(x) {
  const bar = el('div', 'fusion-bar');
  const total = x.parts.reduce((sum, p) => sum + Math.abs(p.share), 0) || 1;
  x.parts.forEach((p, i) => {
    const part = el('span', `share share-${i % 4}`);
    part.style.width = `${(100 * Math.abs(p.share) / total).toFixed(2)}%`;
    part.title = `${p.stage}: ${fmt(p.share, 4)}${p.rank ? ` (rank ${p.rank}, score ${fmt(p.inputScore, 4)})` : ' (not ranked)'}`;
    part.dataset.share = String(p.share);
    bar.append(part);
  });
  return bar;
}

// An explanation as the stage that gave the score made it, its inputs' explanations nested below.
function explanationView(x) {
  const box = el('div', 'explanation');
  if (x.terms) box.append(explanationTable(x));
  else if (x.note && !x.tokens) box.append(el('p', 'muted', `${x.stage}: ${x.note}`));
  if (x.replies && x.replies.length) {
    const list = el('ul', 'replies');
    x.replies.forEach((r) => list.append(el('li', 'reply', r)));
    box.append(list);
  }
  if (x.feedbackTerms && x.feedbackTerms.length)
    box.append(el('p', 'muted', 'feedback added: ' + x.feedbackTerms.map((t) => `${t.term} ${+t.weight.toFixed(4)}`).join(', ')));
  if (x.parts) {
    if (x.parts.length && x.parts[0].share !== null && x.parts[0].share !== undefined) {
      box.append(fusionBar(x));
      const legend = el('p', 'muted');
      x.parts.forEach((p, i) => {
        legend.append(el('span', `swatch share-${i % 4}`), document.createTextNode(` ${p.stage} ${fmt(p.share, 4)}   `));
      });
      legend.append(document.createTextNode(`= ${fmt(x.score, 4)}`));
      box.append(legend);
    }
    for (const p of x.parts) {
      if (!p.explanation) continue;
      const details = el('details', 'part');
      details.append(el('summary', null, `${p.stage}${p.rank ? ` · rank ${p.rank} · score ${fmt(p.inputScore, 4)}` : ''}`));
      details.append(explanationView(p.explanation));
      box.append(details);
    }
  }
  if (x.tokens) box.append(tokenView(x.tokens));
  return box;
}

// A value quoted for the Lucene syntax (a keyword may hold spaces, quotes or backslashes).
function quoted(v) { return '"' + String(v).replace(/[\\"]/g, (c) => '\\' + c) + '"'; }

// The fields worth counting on the page: keywords, booleans and integers.
function facetFields() {
  return Object.entries(typedFields).filter(([, t]) => t === 'keyword' || t === 'boolean' || t === 'integer').map(([f]) => f).slice(0, 6);
}

function renderFilters() {
  const box = $('filters');
  box.replaceChildren();
  filters.forEach((clause, i) => {
    const chip = el('button', 'chip', clause + ' ×');
    chip.type = 'button';
    chip.title = 'remove this filter';
    chip.addEventListener('click', () => { filters.splice(i, 1); search(); });
    box.append(chip);
  });
}

// Each facet as values a person can click: a click adds field:"value" to the filters.
function renderFacets(body) {
  const box = $('facets');
  box.replaceChildren();
  if (!body.facets) return;
  for (const [field, values] of Object.entries(body.facets)) {
    if (!values.length) continue;
    const line = el('div', 'facet');
    // a sharded index's facet whose counts may be too low (a shard had more values than it sends): shown as "≥ n"
    const approximate = (body.facetsApproximate || []).includes(field);
    const name = el('span', 'facet-name', field);
    if (approximate) name.title = 'counts are lower bounds: a shard had more distinct values than it sends';
    line.append(name);
    for (const v of values) {
      const b = el('button', 'facet-value', `${v.value} (${approximate ? '≥ ' : ''}${v.count.toLocaleString()})`);
      b.type = 'button';
      b.dataset.field = field;
      b.dataset.value = v.value;
      b.addEventListener('click', () => {
        const clause = `${field}:${quoted(v.value)}`;
        if (!filters.includes(clause)) filters.push(clause);
        search();
      });
      line.append(b);
    }
    box.append(line);
  }
}

function render(body) {
  const list = $('results');
  list.replaceChildren();
  $('status').textContent = `${body.hits.length} result${body.hits.length === 1 ? '' : 's'}` +
    (body.matching !== undefined ? ` of ${body.matching.toLocaleString()} matching` : '') + ` in ${fmt(body.tookMs, 1)} ms · ${body.pipeline}`;
  renderFilters();
  renderFacets(body);
  for (const h of body.hits) {
    const item = el('li', 'hit');
    item.dataset.id = h.id;
    item.append(highlighted('p', 'hit-title', h.title || h.id, h.title ? h.titleHighlights : []));
    const stages = Object.entries(h.stages).map(([k, v]) => `${k} ${fmt(v, 4)}`).join(' · ');
    const meta = el('p', 'hit-meta');
    meta.append(el('span', 'score', fmt(h.score, 4)), document.createTextNode(` · ${h.id} · ${stages}`));
    item.append(meta, highlighted('p', 'hit-snippet', h.snippet, h.snippetHighlights));
    if (h.fields) item.append(el('p', 'hit-fields', Object.entries(h.fields).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join(' · ')));
    if (h.explanation) item.append(explanationView(h.explanation));
    list.append(item);
  }
}

async function search() {
  const q = $('q').value.trim();
  const mine = ++sequence;
  if (!q) {
    $('results').replaceChildren();
    $('facets').replaceChildren();
    renderFilters();
    $('status').textContent = '';
    return;
  }
  const params = new URLSearchParams({ q, k: '10' });
  if (pipeline) params.set('pipeline', pipeline);
  if ($('explain').checked) params.set('explain', 'true');
  params.set('syntax', 'auto'); // a search box: the Lucene syntax when the text uses it (title:x, "a phrase", +a -b)
  if (filters.length) params.set('filter', filters.join(' AND '));
  const fields = facetFields();
  if (fields.length) params.set('facets', fields.join(','));
  if ($('sort').value) params.set('sort', $('sort').value);
  try {
    const r = await fetch('/api/search?' + params);
    const body = await r.json();
    if (mine !== sequence) return; // a newer search is under way
    if (!r.ok) {
      $('results').replaceChildren();
      $('facets').replaceChildren();
      renderFilters();
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
$('sort').addEventListener('change', search);
loadPipelines();
loadInfo();
const initial = new URLSearchParams(location.search).get('q');
if (initial) { $('q').value = initial; search(); }
