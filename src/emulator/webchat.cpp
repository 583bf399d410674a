#include "emulator/webchat.hpp"

namespace vpnbot::emulator {

std::string_view webchat_html() {
  static constexpr std::string_view page = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>vpnbot sandbox chat</title>
<style>
body{margin:0;font:15px/1.4 system-ui,sans-serif;background:#dfe7ee;display:flex;flex-direction:column;height:100vh}
header{background:#517da2;color:#fff;padding:8px 12px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
header input,header select{padding:4px}
#log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px}
.msg{max-width:75%;padding:6px 10px;border-radius:10px;background:#fff;white-space:pre-wrap;word-wrap:break-word}
.me{align-self:flex-end;background:#effdde}.bot{align-self:flex-start}
.edited{font-size:11px;color:#888}
.kb{display:flex;flex-direction:column;gap:4px;margin-top:6px}.row{display:flex;gap:4px}
.kb button{flex:1;padding:6px;border:0;border-radius:6px;background:#e4edf5;cursor:pointer}
img.qr{max-width:240px;image-rendering:pixelated;display:block;margin-top:4px}
footer{display:flex;gap:6px;padding:8px;background:#fff}footer input{flex:1;padding:8px}
</style></head><body>
<header><b>vpnbot sandbox</b>
<label>as <select id="who"><option value="1001:Alice">Alice</option><option value="1002:Bob">Bob</option>
<option value="1003:Carol">Carol</option><option value="1000:Admin">Admin (panel: /admin)</option></select></label>
<label>user id <input id="uid" type="number" value="1001" style="width:110px"></label>
<label>name <input id="uname" value="Alice" style="width:90px"></label>
<label>language <select id="lang"><option>en</option><option>ru</option></select></label>
<button id="block">block bot</button><button id="unblock">unblock</button></header>
<div id="log"></div>
<footer><input id="text" placeholder="Message (try /start)" autocomplete="off"><button id="send">Send</button></footer>
<script>
const $ = id => document.getElementById(id);
const esc = s => s.replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
// The bot sends HTML; only Telegram's tags are kept, everything else is shown as text.
// Deep links (t.me/<bot>?start=...) open the bot as another user, as tapping a friend's invitation does.
const html = s => esc(s).replace(/&lt;(\/?)(b|i|u|s|code|pre)&gt;/g, '<$1$2>')
  .replace(/https:\/\/t\.me\/\w+\?start=([\w-]+)/g, '<a href="#" class="deeplink" data-start="$1">$&</a>');
const uid = () => Number($('uid').value);
async function post(path, body) {
  const r = await fetch(path, {method: 'POST', body: JSON.stringify(body)});
  if (!r.ok) alert(path + ': ' + await r.text());
}
function profile() { return {user_id: uid(), first_name: $('uname').value, language_code: $('lang').value}; }
async function send() {
  const text = $('text').value.trim(); if (!text) return;
  $('text').value = ''; await post('/client/send_message', {...profile(), text}); refresh();
}
let last = '';
async function refresh() {
  const r = await fetch('/client/messages?chat_id=' + uid()); const data = await r.json();
  const key = JSON.stringify(data); if (key === last) return; last = key;
  const log = $('log'); log.innerHTML = '';
  for (const m of data.messages) {
    const div = document.createElement('div'); div.className = 'msg ' + (m.from_bot ? 'bot' : 'me');
    let body = '';
    if (m.text) body += html(m.text);
    if (m.caption) body += html(m.caption);
    if (m.document) body += `<div>📎 <a href="/client/file?chat_id=${uid()}&message_id=${m.message_id}" download="${esc(m.document.file_name || 'file')}">${esc(m.document.file_name || 'file')}</a></div>`;
    if (m.photo) body += `<img class="qr" src="/client/file?chat_id=${uid()}&message_id=${m.message_id}">`;
    if (m.invoice) body += `<div>🧾 ${esc(m.invoice.title)}: ${esc(m.invoice.description)}</div><div class="kb"><button data-pay="${m.message_id}">Pay</button></div>`;
    if (m.edited) body += '<div class="edited">edited</div>';
    div.innerHTML = body;
    if (m.reply_markup && m.reply_markup.inline_keyboard) {
      const kb = document.createElement('div'); kb.className = 'kb';
      for (const row of m.reply_markup.inline_keyboard) {
        const r = document.createElement('div'); r.className = 'row';
        for (const b of row) {
          const btn = document.createElement('button'); btn.textContent = b.text;
          // A channel's t.me link stands for opening the channel and pressing Join there: the emulator joins.
          const channel = b.url && b.url.match(/^https:\/\/t\.me\/([A-Za-z][A-Za-z0-9_]{3,})$/);
          if (channel) btn.onclick = async () => { await post('/client/channel/join', {user_id: uid(), channel: '@' + channel[1]}); btn.textContent = '✅ Joined @' + channel[1]; };
          else if (b.url) btn.onclick = () => window.open(b.url, '_blank');
          else btn.onclick = async () => { await post('/client/press', {...profile(), message_id: m.message_id, data: b.callback_data}); refresh(); };
          r.appendChild(btn);
        }
        kb.appendChild(r);
      }
      div.appendChild(kb);
    }
    for (const a of div.querySelectorAll('a.deeplink'))
      a.onclick = async e => {
        e.preventDefault();
        const id = prompt('Open this link as which user id? (a new id = a new user)', String(uid() + 1));
        if (!id) return;
        become(id, 'Friend ' + id);
        await post('/client/send_message', {...profile(), text: '/start ' + a.dataset.start}); refresh();
      };
    for (const p of div.querySelectorAll('[data-pay]'))
      p.onclick = async () => { await post('/client/pay', {...profile(), message_id: Number(p.dataset.pay)}); refresh(); };
    log.appendChild(div);
  }
  log.scrollTop = log.scrollHeight;
}
$('send').onclick = send;
$('text').onkeydown = e => { if (e.key === 'Enter') send(); };
$('uid').onchange = () => { last = ''; refresh(); };
// Switching users: each has a chat of their own (try a referral link from Alice's Invite friends screen as Bob).
function become(id, name) {
  $('uid').value = id; $('uname').value = name; last = ''; refresh();
  const value = id + ':' + name;
  if (![...$('who').options].some(o => o.value === value)) $('who').add(new Option(name + ' (' + id + ')', value));
  $('who').value = value;
}
$('who').onchange = () => { const [id, name] = $('who').value.split(':'); become(id, name); };
{ const q = new URLSearchParams(location.search); if (q.get('user')) become(q.get('user'), q.get('name') || 'User ' + q.get('user')); }
$('block').onclick = () => post('/client/block', {...profile(), blocked: true});
$('unblock').onclick = () => post('/client/block', {...profile(), blocked: false});
setInterval(refresh, 700); refresh();
</script></body></html>
)html";
  return page;
}

}  // namespace vpnbot::emulator
