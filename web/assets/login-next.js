// Where the browser goes after signing in: the page it was sent away from (`?next=`), only when that
// is on this site; anything else (another host, `//host`, `/\host`, `javascript:`) goes to the role's
// start page. The address is resolved as the browser would resolve it, then its origin compared.

/** The absolute same-origin URL `next` names, or `home`. */
export function afterSignIn(search, origin, home) {
  const next = new URLSearchParams(search).get('next');
  if (!next?.startsWith('/')) return home;
  try {
    const url = new URL(next, origin);
    return url.origin === origin ? url.href : home;
  } catch {
    return home;
  }
}
