// The web UI's entry: the header, the token prompt and the page of the current hash route.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { useEffect, useReducer } from "preact/hooks";
import { auth, loadSession } from "./api.js";
import { html } from "./html.js";
import { useRoute } from "./router.js";
import { TokenPrompt } from "./token_prompt.js";
import { ExperimentsPage } from "./pages/experiments.js";
import { ExperimentPage } from "./pages/experiment.js";
import { RunPage } from "./pages/run.js";
import { ComparePage } from "./pages/compare.js";

function useAuth() {
  const [, changed] = useReducer((n) => n + 1, 0);
  useEffect(() => auth.subscribe(changed), []);
  return auth;
}

function Header() {
  const session = auth.session;
  return html`<header class="top">
    <a class="brand" href="#/">trackwire</a>
    <nav><a href="#/">Experiments</a></nav>
    <span class="spacer"></span>
    ${session && session.auth
      ? html`<span class="who" title="token scope">${session.user} · ${session.scope}</span>
          <button class="link" onClick=${() => auth.forget()}>Sign out</button>`
      : null}
  </header>`;
}

function Page({ route }) {
  switch (route.page) {
    case "experiment":
      return html`<${ExperimentPage} key=${route.experimentId} route=${route} />`;
    case "run":
      return html`<${RunPage} key=${route.runId} route=${route} />`;
    case "compare":
      return html`<${ComparePage} route=${route} />`;
    default:
      return html`<${ExperimentsPage} route=${route} />`;
  }
}

function App() {
  const route = useRoute();
  useAuth();
  useEffect(() => {
    if (!auth.needed) loadSession().catch(() => {});
  }, [auth.token, auth.needed]);
  if (auth.needed) return html`<${Header} /><${TokenPrompt} />`;
  // Pages re-mount after sign-in so that they load again with the token.
  return html`<${Header} /><main key=${auth.token}><${Page} route=${route} /></main>`;
}

render(html`<${App} />`, document.getElementById("app"));
