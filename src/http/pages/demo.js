// /demo: a small chat client over the real API. One panel per user (?users=alice,bob by default);
// each keeps its badges from its own event stream (GET /v1/users/{userId}/events): a `snapshot` on
// connect, then `member` and `thread` events. Nothing is polled. Message texts come from the demo's
// small message store (/demo/api), which stands in for a chat product's own; readstate keeps only
// read state.
import { ApiError, api, apiToken, el } from "./common.js";

const params = new URLSearchParams(location.search);
const RECONNECT_MS = 2000;

const threadKey = (channelId, threadId) => `${channelId}\u0000${threadId}`;

function newMessageId() {
  const random = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, "0");
  return `m${Date.now().toString(36)}${random}`;
}

class UserPanel {
  constructor(userId, users) {
    this.userId = userId;
    this.users = users;
    this.channels = new Map();
    this.threads = new Map();
    /** Per channel: the demo store's messages and replies, with their seqs. */
    this.messages = new Map();
    this.selected = null;
    this.showThreads = false;
    this.openThread = null;
    /** The first unread message when the channel was opened: the divider and the jump target. */
    this.firstUnreadAtOpen = null;
    this.source = null;
    this.build();
  }

  build() {
    this.root = el("section", "panel");
    this.root.dataset.user = this.userId;
    const header = el("header");
    this.live = el("span", "live", "connecting…");
    this.live.dataset.state = "connecting";
    header.append(el("h2", "", `${this.userId}`), this.live);
    this.sidebar = el("nav", "sidebar");
    this.content = el("div", "content");
    this.channelPane = el("section", "pane channel-pane");
    this.threadPane = el("section", "pane thread-pane");
    this.channelErrors = el("div", "errors");
    this.threadErrors = el("div", "errors");
    this.content.append(this.channelPane);
    this.root.append(header, this.sidebar, this.content);
    this.renderChannelPane();
  }

  setLive(state, text) {
    this.live.dataset.state = state;
    this.live.textContent = text;
  }

  // ---- the event stream ------------------------------------------------------------------------

  async connect() {
    let url = `/v1/users/${encodeURIComponent(this.userId)}/events`;
    try {
      // With a server token, the stream takes a user token: minted with the service token, for this
      // user's events only, passed in the URL because EventSource cannot set headers.
      if (apiToken()) {
        const { token } = await api("POST", `/v1/users/${encodeURIComponent(this.userId)}/tokens`);
        url += `?access_token=${encodeURIComponent(token)}`;
      }
    } catch (err) {
      this.setLive("closed", `offline: ${err.message}`);
      setTimeout(() => this.connect(), RECONNECT_MS);
      return;
    }
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener("open", () => this.setLive("open", "● live"));
    source.addEventListener("snapshot", (event) => this.onSnapshot(JSON.parse(event.data)));
    source.addEventListener("member", (event) => this.onMember(JSON.parse(event.data)));
    source.addEventListener("thread", (event) => this.onThread(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      if (source.readyState !== EventSource.CLOSED) {
        this.setLive("connecting", "reconnecting…");
        return;
      }
      // Refused (an expired user token, a full server, no stream on this server): start over with a
      // fresh token. One read shows the state meanwhile, and asks for the API token on a 401.
      source.close();
      this.setLive("closed", "offline · reconnecting");
      this.readOnce();
      setTimeout(() => this.connect(), RECONNECT_MS + Math.random() * 1000);
    });
  }

  async readOnce() {
    try {
      this.applyUnread(await api("GET", `/v1/users/${encodeURIComponent(this.userId)}/unread`));
      await this.loadThreads();
      this.renderSidebar();
    } catch {
      // The next reconnect tries again.
    }
  }

  /** The states of the followed threads (a snapshot has their totals only). */
  async loadThreads() {
    try {
      const page = await api("GET", `/v1/users/${encodeURIComponent(this.userId)}/threads?limit=1000`);
      this.threads = new Map(
        page.threads.map((state) => [threadKey(state.channelId, state.threadId), state]),
      );
    } catch {
      // Thread badges wait for the next snapshot.
    }
  }

  applyUnread(body) {
    this.channels = new Map(body.channels.map((state) => [state.channelId, state]));
    this.threadTotals = body.threads;
  }

  async onSnapshot(body) {
    this.applyUnread(body);
    this.renderSidebar();
    await this.loadThreads();
    this.renderSidebar();
    if (this.selected) await this.refreshChannel(this.selected);
  }

  async onMember(state) {
    if (state.left) {
      this.channels.delete(state.channelId);
      if (this.selected === state.channelId) this.select(null);
      this.renderSidebar();
      return;
    }
    const before = this.channels.get(state.channelId);
    this.channels.set(state.channelId, state);
    this.renderSidebar();
    if (state.channelId !== this.selected) return;
    const moved = !before || state.channelSeq > before.channelSeq;
    if (moved) await this.refreshChannel(state.channelId);
    else this.renderChannelPane();
    // The open channel is being looked at: new messages in it are read at once, as chat apps do.
    // Only new messages: a "mark unread" from another device stays unread.
    if (moved && state.unread > 0) this.markRead(state.channelId);
  }

  async onThread(state) {
    const key = threadKey(state.channelId, state.threadId);
    const before = this.threads.get(key);
    if (state.unfollowed) this.threads.delete(key);
    else this.threads.set(key, state);
    this.renderSidebar();
    const open = this.openThread;
    if (!open || open.channelId !== state.channelId || open.threadId !== state.threadId) {
      if (state.channelId === this.selected) this.renderChannelPane();
      return;
    }
    const moved = !before || (state.threadSeq ?? 0) > (before.threadSeq ?? 0);
    if (moved) await this.loadMessages(state.channelId);
    this.renderChannelPane();
    this.renderThreadPane();
    if (moved && state.unread > 0) this.markThreadRead(state.channelId, state.threadId);
  }

  // ---- actions ---------------------------------------------------------------------------------

  async select(channelId) {
    this.selected = channelId;
    this.showThreads = false;
    this.openThread = null;
    const state = channelId ? this.channels.get(channelId) : undefined;
    this.firstUnreadAtOpen = state?.firstUnreadMessageId ?? null;
    this.renderSidebar();
    this.renderThreadPane();
    this.renderChannelPane();
    if (!channelId) return;
    await this.loadMessages(channelId);
    this.renderChannelPane();
    this.jumpToFirstUnread(false);
    if (state && state.unread > 0) await this.markRead(channelId);
  }

  async refreshChannel(channelId) {
    await this.loadMessages(channelId);
    if (this.selected === channelId) this.renderChannelPane();
    if (this.openThread?.channelId === channelId) this.renderThreadPane();
  }

  async loadMessages(channelId) {
    try {
      const body = await api("GET", `/demo/api/channels/${encodeURIComponent(channelId)}/messages`);
      this.messages.set(channelId, body.messages);
    } catch (err) {
      this.showError(err);
    }
  }

  async markRead(channelId) {
    try {
      // Without messageId: read to the newest message. The answer is the new state; the stream
      // brings it to this user's other tabs and devices.
      const state = await api("POST", `/v1/channels/${encodeURIComponent(channelId)}/read`, {
        userId: this.userId,
      });
      this.channels.set(channelId, state);
      this.renderSidebar();
    } catch (err) {
      this.showError(err);
    }
  }

  async markUnread(channelId, messageId) {
    try {
      const state = await api("POST", `/v1/channels/${encodeURIComponent(channelId)}/unread`, {
        userId: this.userId,
        messageId,
      });
      this.channels.set(channelId, state);
      this.firstUnreadAtOpen = state.firstUnreadMessageId;
      this.renderSidebar();
      this.renderChannelPane();
    } catch (err) {
      this.showError(err);
    }
  }

  async markThreadRead(channelId, threadId) {
    try {
      const state = await api(
        "POST",
        `/v1/channels/${encodeURIComponent(channelId)}/threads/${encodeURIComponent(threadId)}/read`,
        { userId: this.userId },
      );
      this.threads.set(threadKey(channelId, threadId), state);
      this.renderSidebar();
      this.renderChannelPane();
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "not_following")) this.showError(err);
    }
  }

  async setFollowing(channelId, threadId, follow) {
    const url = `/v1/channels/${encodeURIComponent(channelId)}/threads/${encodeURIComponent(threadId)}/followers/${encodeURIComponent(this.userId)}`;
    try {
      if (follow) this.threads.set(threadKey(channelId, threadId), await api("PUT", url));
      else {
        await api("DELETE", url);
        this.threads.delete(threadKey(channelId, threadId));
      }
      this.renderSidebar();
      this.renderThreadPane();
    } catch (err) {
      this.showError(err);
    }
  }

  async openThreadOf(channelId, threadId) {
    if (this.selected !== channelId) await this.select(channelId);
    this.showThreads = false;
    this.openThread = { channelId, threadId };
    this.renderSidebar();
    this.renderThreadPane();
    this.renderChannelPane();
    const state = this.threads.get(threadKey(channelId, threadId));
    if (state && state.unread > 0) await this.markThreadRead(channelId, threadId);
  }

  /** Records the text in the demo's message store, then posts through the API. */
  async post(channelId, text, threadId) {
    const known = new Set(this.users);
    const names = [...text.matchAll(/@([A-Za-z0-9][A-Za-z0-9._:-]*)/g)].map((match) => match[1]);
    const mentions = [...new Set(names.filter((name) => known.has(name) && name !== this.userId))];
    const mentionAll = names.includes("channel");
    const messageId = newMessageId();
    try {
      await api(
        "PUT",
        `/demo/api/channels/${encodeURIComponent(channelId)}/messages/${encodeURIComponent(messageId)}`,
        { senderId: this.userId, text, ...(threadId ? { threadId } : {}) },
      );
      await api("POST", `/v1/channels/${encodeURIComponent(channelId)}/messages`, {
        messageId,
        senderId: this.userId,
        ...(mentions.length > 0 ? { mentions } : {}),
        ...(mentionAll ? { mentionAll } : {}),
        ...(threadId ? { threadId } : {}),
      });
      await this.refreshChannel(channelId);
    } catch (err) {
      this.showError(err);
    }
  }

  showError(err) {
    const line = el("div", "error-line", err.message);
    this.channelErrors.append(line);
    setTimeout(() => line.remove(), 5000);
  }

  /**
   * Shows a header and a list in a pane. Its composer stays the same element while `key` does, so a
   * message arriving while someone types neither wipes the draft nor takes the focus away.
   */
  mount(pane, errors, key, header, list, makeComposer) {
    let form = pane.querySelector(":scope > form.composer");
    if (form && (!makeComposer || form.dataset.key !== key)) {
      form.remove();
      form = null;
    }
    if (!form && makeComposer) {
      form = makeComposer();
      form.dataset.key = key;
      pane.append(form);
    }
    for (const child of [...pane.children]) if (child !== form) child.remove();
    for (const node of [header, list, errors]) pane.insertBefore(node, form);
  }

  jumpToFirstUnread(flash = true) {
    if (!this.firstUnreadAtOpen) return;
    const node = this.channelPane.querySelector(`[data-message="${CSS.escape(this.firstUnreadAtOpen)}"]`);
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    if (flash) {
      node.classList.remove("flash");
      void node.offsetWidth;
      node.classList.add("flash");
    }
  }

  // ---- rendering -------------------------------------------------------------------------------

  renderSidebar() {
    const items = [el("h3", "", "Channels")];
    for (const state of [...this.channels.values()].sort((a, b) => (a.channelId < b.channelId ? -1 : 1))) {
      const button = el("button");
      button.type = "button";
      button.dataset.channel = state.channelId;
      button.dataset.unread = String(state.unread);
      button.dataset.mentions = String(state.mentions);
      button.setAttribute("aria-current", String(state.channelId === this.selected && !this.showThreads));
      button.classList.toggle("has-unread", state.unread > 0);
      button.classList.toggle("muted", state.muted === true);
      const mentions = el("span", "badge mentions", `@${state.mentions}`);
      mentions.hidden = state.mentions === 0;
      const unread = el("span", "badge unread", state.unread);
      unread.hidden = state.unread === 0;
      button.append(el("span", "name", `# ${state.channelId.replace(/^demo-/, "")}`), mentions, unread);
      button.addEventListener("click", () => this.select(state.channelId));
      items.push(button);
    }
    items.push(el("h3", "", "Threads"));
    const unreadThreads = [...this.threads.values()].filter((t) => t.unread > 0).length;
    const threadButton = el("button");
    threadButton.type = "button";
    threadButton.dataset.threads = "";
    threadButton.dataset.unread = String(unreadThreads);
    threadButton.setAttribute("aria-current", String(this.showThreads));
    threadButton.classList.toggle("has-unread", unreadThreads > 0);
    const threadMentions = [...this.threads.values()].reduce((sum, t) => sum + t.mentions, 0);
    threadButton.dataset.mentions = String(threadMentions);
    const mentionBadge = el("span", "badge mentions", `@${threadMentions}`);
    mentionBadge.hidden = threadMentions === 0;
    const threadBadge = el("span", "badge unread", unreadThreads);
    threadBadge.hidden = unreadThreads === 0;
    threadButton.append(el("span", "name", "Followed"), mentionBadge, threadBadge);
    threadButton.addEventListener("click", () => {
      this.selected = null;
      this.openThread = null;
      this.showThreads = true;
      this.renderSidebar();
      this.renderThreadPane();
      this.renderChannelPane();
    });
    items.push(threadButton);
    this.sidebar.replaceChildren(...items);
  }

  messageNode(channelId, message, { inThread }) {
    const node = el("div", "message");
    node.dataset.message = message.messageId;
    const text = el("span", "text");
    // Mentions are highlighted by splitting the text, never by writing HTML.
    for (const part of message.text.split(/(@[A-Za-z0-9][A-Za-z0-9._:-]*)/)) {
      if (part.startsWith("@")) text.append(el("span", "mention", part));
      else if (part) text.append(part);
    }
    node.append(el("span", "who", message.senderId), text);
    const actions = el("div", "actions");
    if (!inThread) {
      const reply = el("button", "", "Reply in thread");
      reply.type = "button";
      reply.addEventListener("click", () => this.openThreadOf(channelId, message.messageId));
      const unread = el("button", "", "Mark unread");
      unread.type = "button";
      unread.addEventListener("click", () => this.markUnread(channelId, message.messageId));
      actions.append(reply, unread);
      const replies = (this.messages.get(channelId) ?? []).filter((m) => m.threadId === message.messageId);
      if (replies.length > 0) {
        const thread = this.threads.get(threadKey(channelId, message.messageId));
        const link = el(
          "button",
          "replies",
          `${replies.length} ${replies.length === 1 ? "reply" : "replies"}${thread?.unread ? ` · ${thread.unread} new` : ""}`,
        );
        link.type = "button";
        link.classList.toggle("has-unread", Boolean(thread?.unread));
        link.addEventListener("click", () => this.openThreadOf(channelId, message.messageId));
        node.append(el("br"), link);
      }
    }
    node.append(actions);
    return node;
  }

  composer(placeholder, onSend) {
    const form = el("form", "composer");
    const input = el("input");
    input.placeholder = placeholder;
    input.maxLength = 500;
    const send = el("button", "", "Send");
    send.type = "submit";
    form.append(input, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      await onSend(text);
      input.focus();
    });
    return form;
  }

  renderChannelPane() {
    const pane = this.channelPane;
    this.content.classList.toggle("with-thread", this.openThread !== null);
    if (this.showThreads) {
      const [header, list] = this.threadList();
      this.mount(pane, this.channelErrors, "threads", header, list);
      return;
    }
    const channelId = this.selected;
    if (!channelId) {
      const header = el("header");
      header.append(el("span", "title", "No channel open"));
      const hint = el("div", "messages");
      hint.append(el("div", "empty", "Pick a channel on the left. Bold ones have unread messages."));
      this.mount(pane, this.channelErrors, "none", header, hint);
      return;
    }
    const scroller = pane.querySelector(".messages");
    const keepScroll = scroller ? scroller.scrollTop : null;
    const header = el("header");
    const jump = el("button", "jump", "Jump to first unread");
    jump.type = "button";
    const all = this.messages.get(channelId) ?? [];
    jump.disabled = !this.firstUnreadAtOpen || !all.some((m) => m.messageId === this.firstUnreadAtOpen);
    jump.addEventListener("click", () => this.jumpToFirstUnread());
    header.append(el("span", "title", `# ${channelId.replace(/^demo-/, "")}`), jump);
    const list = el("div", "messages");
    for (const message of all.filter((m) => !m.threadId)) {
      if (message.messageId === this.firstUnreadAtOpen) list.append(el("div", "divider", "new"));
      list.append(this.messageNode(channelId, message, { inThread: false }));
    }
    if (list.childElementCount === 0) list.append(el("div", "empty", "No messages yet."));
    this.mount(pane, this.channelErrors, channelId, header, list, () =>
      this.composer(`Message #${channelId.replace(/^demo-/, "")} as ${this.userId}`, (text) =>
        this.post(channelId, text),
      ),
    );
    if (keepScroll !== null) list.scrollTop = keepScroll;
    else list.scrollTop = list.scrollHeight;
  }

  threadList() {
    const header = el("header");
    header.append(el("span", "title", "Followed threads"));
    const list = el("div", "messages");
    const threads = [...this.threads.values()];
    if (threads.length === 0) list.append(el("div", "empty", "No followed threads."));
    for (const state of threads) {
      const root = (this.messages.get(state.channelId) ?? []).find((m) => m.messageId === state.threadId);
      const item = el("div", "message");
      item.append(
        el("span", "who", `#${state.channelId.replace(/^demo-/, "")}`),
        el("span", "text", root ? root.text : state.threadId),
      );
      const open = el("button", "replies", state.unread > 0 ? `${state.unread} new · open` : "open");
      open.type = "button";
      open.classList.toggle("has-unread", state.unread > 0);
      open.addEventListener("click", () => this.openThreadOf(state.channelId, state.threadId));
      item.append(el("br"), open);
      list.append(item);
      // A channel never opened has no texts here yet: load them once (a root still missing after
      // that shows as its id, rather than loading again at every render).
      if (!this.messages.has(state.channelId)) {
        this.messages.set(state.channelId, []);
        this.loadMessages(state.channelId).then(() => this.showThreads && this.renderChannelPane());
      }
    }
    return [header, list];
  }

  renderThreadPane() {
    const pane = this.threadPane;
    const open = this.openThread;
    if (!open) {
      pane.remove();
      return;
    }
    if (!pane.isConnected) this.content.append(pane);
    const { channelId, threadId } = open;
    const state = this.threads.get(threadKey(channelId, threadId));
    const header = el("header");
    const follow = el("button", "", state ? "Unfollow" : "Follow");
    follow.type = "button";
    follow.addEventListener("click", () => this.setFollowing(channelId, threadId, !state));
    const close = el("button", "", "Close");
    close.type = "button";
    close.addEventListener("click", () => {
      this.openThread = null;
      this.renderThreadPane();
      this.renderChannelPane();
    });
    header.append(el("span", "title", "Thread"), follow, close);
    const all = this.messages.get(channelId) ?? [];
    const list = el("div", "messages");
    const root = all.find((m) => m.messageId === threadId);
    if (root) list.append(this.messageNode(channelId, root, { inThread: true }));
    list.append(el("div", "divider", state ? `${state.threadSeq} replies · following` : "replies"));
    for (const reply of all.filter((m) => m.threadId === threadId)) {
      list.append(this.messageNode(channelId, reply, { inThread: true }));
    }
    this.mount(pane, this.threadErrors, threadKey(channelId, threadId), header, list, () =>
      this.composer(`Reply as ${this.userId}`, (text) => this.post(channelId, text, threadId)),
    );
    list.scrollTop = list.scrollHeight;
  }
}

async function start() {
  const panels = document.getElementById("panels");
  let setup;
  try {
    setup = await api("GET", "/demo/api/setup");
  } catch (err) {
    panels.replaceChildren(el("div", "empty", `The demo could not start: ${err.message}`));
    return;
  }
  const wanted = (params.get("users") ?? "alice,bob").split(",").filter((user) => setup.users.includes(user));
  for (const userId of wanted.length > 0 ? wanted : ["alice", "bob"]) {
    const panel = new UserPanel(userId, setup.users);
    panels.append(panel.root);
    panel.renderSidebar();
    panel.connect();
  }
}

start();
