// The chat / activity panel: Socket.IO events handled by JavaScript on the server. One room per
// document (chosen by the handshake query); the server's ack confirms delivery (the tick).

import { io } from 'socket.io-client';

const ACK_TIMEOUT_MS = 5000;

const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {{ doc: string, user: { name: string, color: string }, list: HTMLElement,
 *           form: HTMLFormElement, input: HTMLInputElement,
 *           onStatus: (connected: boolean) => void }} o
 */
export function openChat({ doc, user, list, form, input, onStatus }) {
  list.replaceChildren();
  const socket = io({ query: { doc, name: user.name, color: user.color } });

  const scroll = () => {
    list.scrollTop = list.scrollHeight;
  };

  function addMessage(msg, mine) {
    const item = el('li', mine ? 'msg mine' : 'msg');
    item.dataset.testid = 'chat-message';
    const head = el('div', 'msg-head');
    const who = el('span', 'msg-name', mine ? 'You' : msg.name);
    who.style.color = msg.color;
    head.append(who, el('span', 'msg-time', time(msg.ts)));
    const body = el('div', 'msg-body');
    body.append(el('span', 'msg-text', msg.text));
    item.append(head, body);
    list.append(item);
    scroll();
    return item;
  }

  function addActivity(text, color) {
    const item = el('li', 'activity');
    const dot = el('span', 'activity-dot');
    dot.style.background = color;
    item.append(dot, el('span', '', text));
    list.append(item);
    scroll();
  }

  socket.on('connect', () => onStatus(true));
  socket.on('disconnect', () => onStatus(false));
  socket.on('connect_error', () => onStatus(false));

  socket.on('history', (messages) => {
    list.replaceChildren();
    if (!Array.isArray(messages)) return;
    for (const msg of messages) addMessage(msg, false).classList.add('past');
    if (messages.length) addActivity('earlier messages', '#9ca3af');
  });
  socket.on('chat', (msg) => addMessage(msg, false));
  socket.on('activity', (a) => {
    if (a.type === 'join') addActivity(`${a.name} joined`, a.color);
    else if (a.type === 'leave') addActivity(`${a.name} left`, a.color);
    else if (a.type === 'rename') addActivity(`${a.from} is now ${a.name}`, a.color);
  });

  function onSubmit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    const item = addMessage({ name: user.name, color: user.color, text, ts: Date.now() }, true);
    const tick = el('span', 'tick pending', '');
    tick.title = 'sending…';
    item.querySelector('.msg-body').append(tick);
    // socket.io-client buffers while disconnected; the timeout turns a lost ack into a visible error.
    socket.timeout(ACK_TIMEOUT_MS).emit('chat', { text }, (err, res) => {
      tick.classList.remove('pending');
      if (err || !res || !res.ok) {
        tick.classList.add('failed');
        tick.textContent = '!';
        tick.title = err ? 'not confirmed by the server' : (res && res.error) || 'rejected';
        return;
      }
      tick.classList.add('delivered');
      tick.dataset.testid = 'chat-ack';
      tick.textContent = '✓';
      tick.title = typeof res.delivered === 'number'
        ? `delivered to ${res.delivered} other${res.delivered === 1 ? '' : 's'}`
        : 'delivered';
    });
  }
  form.addEventListener('submit', onSubmit);

  return {
    socket,
    rename(name) {
      user = { ...user, name };
      socket.io.opts.query = { doc, name, color: user.color }; // used on reconnect
      socket.emit('rename', name);
    },
    destroy() {
      form.removeEventListener('submit', onSubmit);
      socket.disconnect();
    },
  };
}
