/**
 * A typed client for the atende API.
 *
 * Every operation of the contract (`api/openapi.yaml`) is typed from `schema.ts`, which openapi-typescript
 * generates from it; requests go through openapi-fetch. On top of that this module adds what the contract
 * cannot express by itself: the API key on every request, Idempotency-Key helpers for writes, and a reader of
 * a dialer session's Server-Sent Events over fetch (a browser's EventSource cannot send the Authorization
 * header).
 *
 * @example
 * const atende = createAtendeClient({ baseUrl: "https://atende.example.com", apiKey: "atd_..." });
 * const session = unwrap(await atende.POST("/v1/dialer/sessions", {
 *   params: { header: idempotent() },
 *   body: { campaign_id: campaignId },
 * }));
 * for await (const event of atende.streamSessionEvents(session.id, { signal })) {
 *   if (event.type === "prompt") console.log(event.data.text);
 * }
 */
import createClient, { type Client } from "openapi-fetch";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

/** The schemas of the contract, by name: `Schemas["Ticket"]`, `Schemas["Session"]`, … */
export type Schemas = components["schemas"];

/** An RFC 9457 problem document, as every error of the API answers. */
export type Problem = Schemas["Problem"];

/** A dialer session's status. */
export type SessionStatus = Schemas["SessionStatus"];

/** How to reach atende and who is asking. */
export interface AtendeClientOptions {
  /** atende's address, without `/v1`: `https://atende.example.com`. */
  baseUrl: string;
  /** An API key (`atd_...`), sent as `Authorization: Bearer <key>` on every request. */
  apiKey: string;
  /** The fetch to use (default: the global fetch). */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers added to every request. */
  headers?: Record<string, string>;
}

/** The typed client: openapi-fetch's `GET`, `POST`, `PUT`, `PATCH`, `DELETE` for every path of the contract. */
export interface AtendeClient extends Client<paths> {
  /** The options the client was created with. */
  readonly options: Readonly<AtendeClientOptions>;
  /**
   * Follows a dialer session's events (`GET /v1/dialer/sessions/{id}/events`) with this client's key; see
   * {@link streamSessionEvents}.
   */
  streamSessionEvents(sessionId: string, options?: StreamSessionEventsOptions): AsyncGenerator<SessionEvent, void, undefined>;
}

/**
 * Creates a client for atende acting with one API key.
 *
 * Each call answers `{ data, error, response }`: `data` on a 2xx, `error` (a {@link Problem}) otherwise.
 * {@link unwrap} turns that into the data or an {@link AtendeError}.
 */
export function createAtendeClient(options: AtendeClientOptions): AtendeClient {
  const opts: AtendeClientOptions = { ...options, baseUrl: trimSlashes(options.baseUrl) };
  const client = createClient<paths>({
    baseUrl: opts.baseUrl,
    headers: { ...opts.headers, Authorization: `Bearer ${opts.apiKey}` },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  return Object.assign(client, {
    options: opts,
    streamSessionEvents: (sessionId: string, streamOptions?: StreamSessionEventsOptions) =>
      streamSessionEvents(opts, sessionId, streamOptions),
  });
}

/** A new Idempotency-Key: a random UUID. Keep it to retry the same write. */
export function idempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * The `Idempotency-Key` header for a POST, as openapi-fetch's `params.header`. A replay of the same key answers
 * the first response for 24 hours, so retry a failed or timed-out write with the key it was first sent with:
 *
 * @example
 * const key = idempotencyKey();
 * const res = await atende.POST("/v1/users", { params: { header: idempotent(key) }, body });
 */
export function idempotent(key: string = idempotencyKey()): { "Idempotency-Key": string } {
  return { "Idempotency-Key": key };
}

/** An error answer of atende, with its problem document when it sent one. */
export class AtendeError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The problem document, when the answer was one. */
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, message?: string) {
    super(message ?? describeProblem(status, problem));
    this.name = "AtendeError";
    this.status = status;
    this.problem = problem;
  }

  /** Reads an error answer's body into an AtendeError. */
  static async fromResponse(response: Response): Promise<AtendeError> {
    let problem: Problem | undefined;
    try {
      const body: unknown = await response.json();
      if (isProblem(body)) problem = body;
    } catch {
      // Not JSON: the status alone says what happened.
    }
    return new AtendeError(response.status, problem);
  }
}

/**
 * Returns a call's data, or throws an {@link AtendeError} for an error answer.
 *
 * @example
 * const ticket = unwrap(await atende.GET("/v1/tickets/{id}", { params: { path: { id } } }));
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  const problem = isProblem(result.error) ? result.error : undefined;
  throw new AtendeError(result.response.status, problem);
}

function isProblem(v: unknown): v is Problem {
  return typeof v === "object" && v !== null && typeof (v as Problem).status === "number" && typeof (v as Problem).type === "string";
}

function describeProblem(status: number, problem: Problem | undefined): string {
  if (!problem) return `atende answered ${status}`;
  const fields = (problem.errors ?? []).map((e) => `${e.field}: ${e.message}`).join("; ");
  return `atende answered ${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ""}${fields ? ` (${fields})` : ""}`;
}

// ---- Dialer session events -------------------------------------------------------------------------------

// The data of each event, as the contract gives it (SessionStateEvent, SessionPromptEvent, … in api/openapi.yaml).

/** The data of a `state` event: the session's status changed (paused, resumed, ready again, wrap-up). */
export type StateEventData = Schemas["SessionStateEvent"];

/**
 * The data of a `prompt` event: the customer is in an active WhatsApp conversation and the agent decides whether
 * to pause the dialer for them; answer at `POST /v1/dialer/prompts/{id}/answer` before `expires_at`.
 */
export type PromptEventData = Schemas["SessionPromptEvent"];

/** The data of a `prompt_expired` event: nobody answered the prompt in time; the session is paused. */
export type PromptExpiredEventData = Schemas["SessionPromptExpiredEvent"];

/** The data of a `call` event: a call of the session and its progress. */
export type CallEventData = Schemas["SessionCallEvent"];

interface SessionEventOf<K extends string, D> {
  /** The event's id: pass the last one as `lastEventId` to resume after it. */
  id: string;
  type: K;
  data: D;
}

/** One event of a dialer session's stream; narrow it on `type`. */
export type SessionEvent =
  | SessionEventOf<"state", StateEventData>
  | SessionEventOf<"prompt", PromptEventData>
  | SessionEventOf<"prompt_expired", PromptExpiredEventData>
  | SessionEventOf<"call", CallEventData>;

/** The kinds of events a dialer session's stream carries. */
export type SessionEventType = SessionEvent["type"];

const sessionEventTypes: ReadonlySet<string> = new Set<SessionEventType>(["state", "prompt", "prompt_expired", "call"]);

/** Options of {@link streamSessionEvents}. */
export interface StreamSessionEventsOptions {
  /** Ends the stream: the iteration finishes without an error once it is aborted. */
  signal?: AbortSignal;
  /** Resume after this event id (the `id` of the last event received): the events since are sent first. */
  lastEventId?: string;
  /** Called once the stream is open, before any event: from then on no event of the session is missed. */
  onOpen?: (response: Response) => void;
}

/**
 * Follows a dialer session's Server-Sent Events (`GET /v1/dialer/sessions/{id}/events`) over fetch, so the
 * request carries the API key. Iterate the result with `for await`; breaking out of the loop or aborting
 * `signal` closes the connection.
 *
 * Without `lastEventId` the stream starts with the events that happen after it opens; read the session
 * (`GET /v1/dialer/sessions/{id}`) once `onOpen` was called to see a prompt or call already pending. Event kinds
 * this client does not know are skipped. An error answer throws an {@link AtendeError}; a dropped connection
 * throws the network error, and the caller reconnects with the last event's id.
 */
export async function* streamSessionEvents(
  client: AtendeClientOptions,
  sessionId: string,
  options: StreamSessionEventsOptions = {},
): AsyncGenerator<SessionEvent, void, undefined> {
  const { signal, lastEventId, onOpen } = options;
  const headers = new Headers(client.headers);
  headers.set("Authorization", `Bearer ${client.apiKey}`);
  headers.set("Accept", "text/event-stream");
  if (lastEventId) headers.set("Last-Event-ID", lastEventId);
  const url = `${trimSlashes(client.baseUrl)}/v1/dialer/sessions/${encodeURIComponent(sessionId)}/events`;
  const request = new Request(url, { method: "GET", headers, ...(signal ? { signal } : {}) });
  const doFetch = client.fetch ?? ((r: Request) => globalThis.fetch(r));

  let response: Response;
  try {
    response = await doFetch(request);
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
  if (!response.ok) throw await AtendeError.fromResponse(response);
  const contentType = response.headers.get("Content-Type") ?? "";
  if (!contentType.startsWith("text/event-stream") || !response.body) {
    await response.body?.cancel();
    throw new AtendeError(response.status, undefined, `atende answered ${response.status} with ${contentType || "no body"}, not an event stream`);
  }
  onOpen?.(response);

  const pending: SessionEvent[] = [];
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      const event = toSessionEvent(message);
      if (event) pending.push(event);
    },
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      if (chunk.done) return;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      while (pending.length > 0) {
        yield pending.shift()!;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function toSessionEvent(message: EventSourceMessage): SessionEvent | undefined {
  if (!message.event || !sessionEventTypes.has(message.event)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return undefined;
  }
  return { id: message.id ?? "", type: message.event, data } as SessionEvent;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, "");
}
