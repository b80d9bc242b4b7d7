// Who this tab is: a friendly random name and a colour, kept in sessionStorage so that a reload
// keeps them while two tabs of one browser still get different ones.

const ADJECTIVES = [
  'Amber', 'Brave', 'Calm', 'Clever', 'Curious', 'Daring', 'Eager', 'Gentle', 'Happy', 'Jolly',
  'Kind', 'Lively', 'Lucky', 'Merry', 'Nimble', 'Polite', 'Quick', 'Quiet', 'Sunny', 'Witty',
];
const ANIMALS = [
  'Badger', 'Beaver', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Gecko', 'Heron', 'Koala', 'Lynx',
  'Marmot', 'Otter', 'Owl', 'Panda', 'Puffin', 'Quokka', 'Raccoon', 'Seal', 'Tiger', 'Wombat',
];
// [caret/label colour, selection highlight]
export const COLORS = [
  ['#e11d48', '#e11d4833'], ['#db2777', '#db277733'], ['#9333ea', '#9333ea33'],
  ['#4f46e5', '#4f46e533'], ['#2563eb', '#2563eb33'], ['#0891b2', '#0891b233'],
  ['#059669', '#05966933'], ['#65a30d', '#65a30d33'], ['#d97706', '#d9770633'],
  ['#ea580c', '#ea580c33'],
];

const KEY = 'collabio-demo-user';
const pick = (list) => list[Math.floor(Math.random() * list.length)];

export function randomName() {
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
}

/** @returns {{ name: string, color: string, colorLight: string }} */
export function loadIdentity() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (saved && typeof saved.name === 'string' && /^#[0-9a-f]{6}$/i.test(saved.color)) return saved;
  } catch {
    // fall through to a new identity
  }
  const [color, colorLight] = pick(COLORS);
  const identity = { name: randomName(), color, colorLight };
  saveIdentity(identity);
  return identity;
}

export function saveIdentity(identity) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(identity));
  } catch {
    // storage may be disabled; the identity then lasts as long as the page
  }
}

export function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '?';
}
