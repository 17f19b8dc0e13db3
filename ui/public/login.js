// Shows why the previous attempt failed (the server redirects to /login?failed=1).
if (new URLSearchParams(location.search).has('failed')) {
  const p = document.createElement('p');
  p.className = 'error';
  p.id = 'login-error';
  p.textContent = 'Wrong password. Each failed try makes the next answer slower.';
  document.querySelector('form').after(p);
}
