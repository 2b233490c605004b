// Asked for when the server answers 401 (a server started with --auth).
import { useState } from "preact/hooks";
import { auth } from "./api.js";
import { html } from "./html.js";

export function TokenPrompt() {
  const [token, setToken] = useState("");
  const [remember, setRemember] = useState(false);
  const submit = (event) => {
    event.preventDefault();
    if (token.trim()) auth.setToken(token.trim(), remember);
  };
  return html`<main class="prompt">
    <form class="card token-form" onSubmit=${submit} aria-labelledby="token-title">
      <h1 id="token-title">Sign in</h1>
      <p>This server requires an access token (<code>trackwire tokens create</code>).</p>
      ${auth.token ? html`<p class="error">The token was refused.</p>` : null}
      <label>Token
        <input type="password" name="token" autofocus autocomplete="current-password"
          value=${token} onInput=${(e) => setToken(e.target.value)} />
      </label>
      <label class="inline">
        <input type="checkbox" checked=${remember} onChange=${(e) => setRemember(e.target.checked)} />
        Remember on this browser
      </label>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </main>`;
}
