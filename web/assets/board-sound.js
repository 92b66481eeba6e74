import { h } from './app.js';

// The alarm sound: a two-tone beep every second while any alarm is unacknowledged, a full-screen
// prompt when the browser blocks it, and the board's "Sound on / off" button.

export const sound = {
  ctx: null,
  timer: null,
  playing: false,
  enabled: localStorage.getItem('doorstep.sound') !== 'off',
};
window.doorstepSound = sound;
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
  const b = document.getElementById('sound-toggle');
  if (b) {
    b.setAttribute('aria-pressed', String(sound.enabled));
    b.textContent = sound.enabled
      ? sound.ctx?.state === 'running' || !on
        ? 'Sound on'
        : 'Sound blocked: click to allow'
      : 'Sound off';
  }
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

/** The toolbar's button: sound on or off (remembered in this browser); a click also lets a blocked sound play. */
export function soundToggle() {
  return h(
    'button',
    {
      type: 'button',
      id: 'sound-toggle',
      'aria-pressed': String(sound.enabled),
      onclick: () => {
        sound.enabled = !sound.enabled || sound.ctx?.state !== 'running';
        localStorage.setItem('doorstep.sound', sound.enabled ? 'on' : 'off');
        if (sound.ctx?.state === 'suspended') sound.ctx.resume();
        setSounding(document.body.classList.contains('has-alarm'));
      },
    },
    'Sound on',
  );
}
