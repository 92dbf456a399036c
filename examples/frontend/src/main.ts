/**
 * An agent's screen meeting the dialer's WhatsApp prompt, step by step, as a frontend does it:
 *
 *  1. join a running campaign (POST /v1/dialer/sessions, with an Idempotency-Key; an agent who already has an
 *     open session on the campaign takes it up again);
 *  2. open the session's event stream (GET /v1/dialer/sessions/{id}/events) over fetch, with the API key;
 *  3. read the session once the stream is open, in case a prompt was already pending;
 *  4. wait for the `prompt` event: "Cliente com conversa ativa via WhatsApp. Deseja pausar o discador?";
 *  5. answer it (POST /v1/dialer/prompts/{id}/answer): `pause_dialer: false` places the call,
 *     `pause_dialer: true` records a "Contato via WhatsApp" and moves the agent on;
 *  6. wait for what follows: the `call` event of the placed call, or the `state` event of the session ready again.
 *
 * Configuration, from the environment:
 *
 *   ATENDE_URL            atende's address (default http://127.0.0.1:8080)
 *   ATENDE_AGENT_KEY      the agent's API key (required)
 *   ATENDE_CAMPAIGN_ID    the running campaign to join (required)
 *   ATENDE_TIMEOUT        seconds to wait for the whole sequence (default 60)
 *   ATENDE_PAUSE_DIALER   1 or true: answer "pause the dialer" instead of going on with the call (or pass --pause)
 *
 * Exit status: 0 when the sequence completed, 1 when atende refused a step or the prompt expired, 2 for bad
 * configuration, 3 when the timeout passed first.
 */
import {
  createAtendeClient,
  idempotent,
  unwrap,
  type AtendeClient,
  type PromptEventData,
  type Schemas,
  type SessionEvent,
} from "../../../clients/typescript/dist/index.js";

/** Exit statuses. */
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;
const EXIT_TIMEOUT = 3;

interface Config {
  url: string;
  agentKey: string;
  campaignId: string;
  timeoutSeconds: number;
  pauseDialer: boolean;
}

/** A failure that ends the program with its own exit status. */
class ExitError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function step(message: string): void {
  console.log(`[frontend] ${message}`);
}

function readConfig(env: NodeJS.ProcessEnv, argv: readonly string[]): Config {
  const missing = ["ATENDE_AGENT_KEY", "ATENDE_CAMPAIGN_ID"].filter((name) => !env[name]);
  if (missing.length > 0) throw new ExitError(`missing configuration: set ${missing.join(" and ")}`, EXIT_CONFIG);
  const timeoutSeconds = Number(env["ATENDE_TIMEOUT"] ?? "60");
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new ExitError(`ATENDE_TIMEOUT must be a positive number of seconds, not ${JSON.stringify(env["ATENDE_TIMEOUT"])}`, EXIT_CONFIG);
  }
  const pauseEnv = (env["ATENDE_PAUSE_DIALER"] ?? "").toLowerCase();
  return {
    url: env["ATENDE_URL"] || "http://127.0.0.1:8080",
    agentKey: env["ATENDE_AGENT_KEY"]!,
    campaignId: env["ATENDE_CAMPAIGN_ID"]!,
    timeoutSeconds,
    pauseDialer: argv.includes("--pause") || pauseEnv === "1" || pauseEnv === "true",
  };
}

/** Joins the campaign, or takes up the agent's open session on it. */
async function joinCampaign(atende: AtendeClient, campaignId: string): Promise<Schemas["Session"]> {
  const joined = await atende.POST("/v1/dialer/sessions", {
    params: { header: idempotent() },
    body: { campaign_id: campaignId },
  });
  if (joined.response.status !== 409) return unwrap(joined);
  // The agent already has an open session (another tab, a reload): take it up if it is on this campaign.
  const me = unwrap(await atende.GET("/v1/me"));
  const page = unwrap(await atende.GET("/v1/dialer/sessions", { params: { query: { campaign_id: campaignId } } }));
  const open = page.data.find((s) => s.user_id === me.user.id && s.status !== "left");
  if (!open) return unwrap(joined);
  step(`already in the campaign: taking up session ${open.id}`);
  return open;
}

async function run(cfg: Config): Promise<void> {
  const atende = createAtendeClient({ baseUrl: cfg.url, apiKey: cfg.agentKey });
  const session = await joinCampaign(atende, cfg.campaignId);
  step(`joined campaign ${cfg.campaignId}: session ${session.id} is ${session.status}`);

  const stop = new AbortController();
  let waitingFor = "the event stream to open";
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
    stop.abort(err);
  };
  const timer = setTimeout(
    () => fail(new ExitError(`timed out after ${cfg.timeoutSeconds}s waiting for ${waitingFor}`, EXIT_TIMEOUT)),
    cfg.timeoutSeconds * 1000,
  );

  // The prompt being answered, and the answer's request: the session's next event can arrive before the
  // answer's response does, and the sequence ends only once both are in.
  let prompt: { id: string; entryId: string } | undefined;
  let answering: Promise<void> | undefined;
  const answerPrompt = (p: Pick<PromptEventData, "prompt_id" | "entry_id" | "text"> & { number?: string }): Promise<void> => {
    if (answering) return answering; // seen both pending in the session and as an event: answer once
    prompt = { id: p.prompt_id, entryId: p.entry_id };
    step(`prompt ${p.prompt_id}${p.number ? ` for ${p.number}` : ""}: "${p.text}"`);
    answering = (async () => {
      const answered = unwrap(
        await atende.POST("/v1/dialer/prompts/{id}/answer", {
          params: { path: { id: p.prompt_id } },
          body: { pause_dialer: cfg.pauseDialer },
        }),
      );
      step(`answered prompt ${answered.id} with pause_dialer=${cfg.pauseDialer}: it is ${answered.status}`);
      waitingFor = cfg.pauseDialer ? "the session's state event" : "the call event";
    })();
    return answering;
  };

  // A prompt raised before the stream opened is not sent on it: read the session once the stream is open.
  const checkPending = async () => {
    const now = unwrap(await atende.GET("/v1/dialer/sessions/{id}", { params: { path: { id: session.id } } }));
    if (now.prompt && now.prompt.status === "pending" && !prompt) {
      step(`the session has a pending prompt`);
      await answerPrompt({ prompt_id: now.prompt.id, entry_id: now.prompt.entry_id, text: now.prompt.text });
    }
  };

  const done = (event: SessionEvent): boolean => {
    if (!prompt) return false;
    switch (event.type) {
      case "prompt_expired":
        if (event.data.prompt_id === prompt.id) {
          throw new ExitError(`prompt ${prompt.id} expired before the answer counted: the session is paused`, EXIT_FAILED);
        }
        return false;
      case "call":
        return !cfg.pauseDialer && event.data.entry_id === prompt.entryId;
      case "state":
        return cfg.pauseDialer && event.data.status !== "prompting";
      default:
        return false;
    }
  };

  let finished = false;
  try {
    for await (const event of atende.streamSessionEvents(session.id, {
      signal: stop.signal,
      onOpen: () => {
        waitingFor = "a prompt";
        step(`stream open: listening for events of session ${session.id}`);
        checkPending().catch(fail);
      },
    })) {
      step(`event ${event.type} ${event.id}: ${JSON.stringify(event.data)}`);
      if (event.type === "prompt") {
        await answerPrompt(event.data);
        continue;
      }
      if (done(event)) {
        finished = true;
        break;
      }
    }
    if (finished) await answering;
  } catch (err) {
    failure ??= err;
  } finally {
    clearTimeout(timer);
  }
  if (failure) throw failure;
  if (!finished) throw new ExitError(`the event stream ended while waiting for ${waitingFor}`, EXIT_FAILED);

  if (cfg.pauseDialer) {
    step(`done: the dialer skipped the customer (contact via WhatsApp) and the agent is ready for the next one`);
  } else {
    step(`done: the call is placed and the agent is on it`);
  }
}

async function main(): Promise<number> {
  try {
    await run(readConfig(process.env, process.argv.slice(2)));
    return 0;
  } catch (err) {
    // fetch reports a refused connection as "fetch failed", with the reason as its cause.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    console.error(`[frontend] error: ${err instanceof Error ? err.message : String(err)}${cause}`);
    return err instanceof ExitError ? err.code : EXIT_FAILED;
  }
}

// Exit at once: an idle keep-alive connection must not hold the process open.
process.exit(await main());
