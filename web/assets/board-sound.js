import { h } from './app.js';

// The alarm sound: a two-tone beep every second while any alarm is unacknowledged, a full-screen
// prompt when the browser blocks it, and the board's "Alarm sound" button (pressed: on).
//
// Turning it off silences what is open when it is pressed, in this page only: it is never stored, so a
// reload or the next person signing in has the sound on, and an alarm that was not unacknowledged
// then (a new one, or one open again) or the board losing Doorstep sounds again by itself. While it
// is off and an alarm is unacknowledged, a red band across the board says SOUND IS OFF.

export const sound = {
  ctx: null,
  timer: null,
  playing: false,
  enabled: true,
  /** What "Sound off" silenced: the unacknowledged alarms (ids, and how many) and whether unreachable. */
  mutedFor: null,
};
window.doorstepSound = sound;
// Kept by an earlier version across reloads and people: never read, and gone.
localStorage.removeItem('doorstep.sound');

/** The unacknowledged alarms now: the cards' ids and the server's whole count. */
const openNow = { ids: [], count: 0 };

/** board.js, on every re-read: the unacknowledged alarms' ids (of the cards) and how many there are. */
export function alarmsUnacknowledged(ids, count) {
  openNow.ids = ids;
  openNow.count = count;
  // An alarm acknowledged since is no longer silenced: open again (its acknowledgement timed out),
  // it sounds as a new one.
  const m = sound.mutedFor;
  if (m) {
    m.ids = new Set(ids.filter((id) => m.ids.has(id)));
    m.count = Math.min(m.count, count);
  }
}

/** Whether the mute still covers what is open: no alarm unacknowledged since, no new loss of Doorstep. */
function muteCovers() {
  const m = sound.mutedFor;
  if (!m) return true;
  // Doorstep reached again: a later loss of it is a new one, and sounds.
  if (sound.unreachable !== true) m.unreachable = false;
  if (sound.unreachable === true && !m.unreachable) return false;
  return openNow.count <= m.count && openNow.ids.every((id) => m.ids.has(id));
}
function beep() {
  if (!sound.ctx) return;
  const t = sound.ctx.currentTime;
  for (const [i, f] of [880, 660].entries()) {
    const o = sound.ctx.createOscillator();
    const g = sound.ctx.createGain();
    o.frequency.value = f;
    g.gain.setValueAtTime(0.2, t + i * 0.25);
    g.gain.exponentialRampToValueAtTime(0.001, t + i * 0.25 + 0.24);
    o.connect(g).connect(sound.ctx.destination);
    o.start(t + i * 0.25);
    o.stop(t + i * 0.25 + 0.25);
  }
}
export function setSounding(want) {
  // A board that cannot reach Doorstep sounds until it can, whatever it last showed.
  const on = want || sound.unreachable === true;
  if (!sound.enabled && !muteCovers()) {
    sound.enabled = true;
    sound.mutedFor = null;
  }
  if (on && sound.enabled) {
    sound.ctx ??= new AudioContext();
    if (sound.ctx.state === 'suspended' && !sound.triedResume) {
      // The browser may allow it at once; if not within a second, the full-screen prompt asks.
      sound.triedResume = true;
      sound.resuming = true;
      sound.ctx.resume().then(
        () => setSounding(document.body.classList.contains('has-alarm')),
        () => {},
      );
      setTimeout(() => {
        sound.resuming = false;
        setSounding(document.body.classList.contains('has-alarm'));
      }, 1000);
    }
    if (!sound.timer) {
      beep();
      sound.timer = setInterval(beep, 1000);
    }
    sound.playing = sound.ctx.state === 'running';
  } else {
    clearInterval(sound.timer);
    sound.timer = null;
    sound.playing = false;
  }
  document.body.dataset.sounding = String(sound.playing);
  // Its words stay "Alarm sound"; pressed says on or off (a blocked sound is the prompt below).
  document.getElementById('sound-toggle')?.setAttribute('aria-pressed', String(sound.enabled));
  soundOffBand(on && !sound.enabled);
  // An alarm is sounding but the browser blocked the sound: a prompt across the whole screen that
  // one click (which the browser needs before it plays sound) clears.
  const blocked = on && sound.enabled && sound.ctx?.state !== 'running' && !sound.resuming;
  let prompt = document.getElementById('sound-blocked');
  if (blocked && !prompt) {
    prompt = h(
      'div',
      { id: 'sound-blocked', role: 'alertdialog', 'aria-labelledby': 'sound-blocked-h' },
      h('h2', { id: 'sound-blocked-h' }, 'An alarm is open, and this browser blocked its sound'),
      h(
        'button',
        {
          type: 'button',
          class: 'primary big',
          onclick: () => {
            sound.ctx?.resume().then(
              () => setSounding(true),
              () => {},
            );
          },
        },
        'Turn the alarm sound on',
      ),
    );
    prompt.returnFocus = document.activeElement;
    document.body.append(prompt);
    prompt.querySelector('button')?.focus();
  } else if (!blocked && prompt) {
    // Focus was on the prompt's button: back to where it was before (or the sound button), never
    // lost to the page's body — only then, so a form being typed in elsewhere keeps its focus.
    const hadFocus = prompt.contains(document.activeElement);
    const back = prompt.returnFocus;
    prompt.remove();
    if (hadFocus)
      (back && back !== document.body && document.contains(back)
        ? back
        : document.getElementById('sound-toggle')
      )?.focus();
  }
}

/**
 * While the sound is off and an alarm is unacknowledged (or Doorstep unreachable): SOUND IS OFF
 * across the top of the board, with the way to turn it back on.
 */
function soundOffBand(show) {
  let band = document.getElementById('sound-off');
  if (show && !band) {
    band = h(
      'section',
      { id: 'sound-off', class: 'not-sent', role: 'alert', 'aria-labelledby': 'sound-off-h' },
      h('h2', { id: 'sound-off-h' }, 'SOUND IS OFF: an unacknowledged alarm is open'),
      h(
        'p',
        {},
        'This board is silent for the alarms open when the sound was turned off. A new alarm sounds again by itself.',
      ),
      h('button', { type: 'button', onclick: () => setSound(true) }, 'Turn the sound back on'),
    );
    document.querySelector('main')?.prepend(band);
  } else if (!show && band) {
    const hadFocus = band.contains(document.activeElement);
    band.remove();
    if (hadFocus) document.getElementById('sound-toggle')?.focus();
  }
}

/** Sound on, or off for what is open now (a click also lets a blocked sound play). */
function setSound(on) {
  sound.enabled = on;
  sound.mutedFor = on
    ? null
    : { ids: new Set(openNow.ids), count: openNow.count, unreachable: sound.unreachable === true };
  if (sound.ctx?.state === 'suspended') sound.ctx.resume();
  setSounding(document.body.classList.contains('has-alarm'));
}

/** The toolbar's button: sound on, or off for the alarms open now (in this page only). */
export function soundToggle() {
  return h(
    'button',
    {
      type: 'button',
      id: 'sound-toggle',
      'aria-pressed': String(sound.enabled),
      onclick: () => setSound(!sound.enabled || sound.ctx?.state !== 'running'),
    },
    'Alarm sound',
  );
}
