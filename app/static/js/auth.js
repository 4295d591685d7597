// Who the user is: the token form (shown when the stream answers 401, or on "Sign in" when
// reading anonymously), the name and role in the header, and sign-out.
import { setText } from './dom.js';
import { t } from './i18n.js';
import { clearToken, getToken, setToken } from './token.js';

export function createAuth(onTokenChange) {
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  const me = document.getElementById('me');
  const button = document.getElementById('auth-button');
  let who = null;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    input.value = '';
    dialog.close();
    onTokenChange();
  });
  document.getElementById('token-cancel').addEventListener('click', () => dialog.close());
  button.addEventListener('click', () => {
    if (getToken()) {
      clearToken();
      onTokenChange();
    } else {
      ask(null);
    }
  });

  /** Opens the token form; `refusal` is the server's reason when a token was refused. */
  function ask(refusal) {
    error.hidden = !refusal;
    setText(error, refusal ? t('auth.refused', { detail: refusal }) : '');
    if (!dialog.open) dialog.showModal();
    input.focus();
  }

  /** The server refused the stream: a stored token is wrong or none was given. */
  function unauthorized(detail) {
    ask(getToken() ? detail : null);
    draw();
  }

  function show(next) {
    who = next;
    draw();
  }

  function draw() {
    if (!who) setText(me, '');
    else if (who.anonymous) setText(me, t('auth.guest'));
    else setText(me, t('auth.me', { name: who.name, role: t(`role.${who.role}`) }));
    me.dataset.role = who?.anonymous ? 'anonymous' : (who?.role ?? '');
    setText(button, t(getToken() ? 'auth.signOut' : 'auth.signIn'));
  }

  return { unauthorized, show, relabel: draw };
}
