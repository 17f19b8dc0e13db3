// Shows why the previous attempt failed (the server redirects to /login?failed=1), and carries the
// camera page the visitor came for (/login?camera=<id>) through the sign-in.
const params = new URLSearchParams(location.search);
const form = document.querySelector('form');
if (params.has('failed')) {
  const p = document.createElement('p');
  p.className = 'error';
  p.id = 'login-error';
  p.textContent = 'Wrong password. Each failed try makes the next answer slower.';
  form.after(p);
}
const camera = params.get('camera');
if (camera && /^[A-Za-z0-9_-]{1,64}$/.test(camera)) {
  const input = document.createElement('input');
  input.type = 'hidden';
  input.name = 'camera';
  input.value = camera;
  form.append(input);
}
