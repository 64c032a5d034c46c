// The playground page: three chat columns kept in step with the Bot API double.
// Everything shown comes from the server's event stream; typing and tapping are posted
// back as the person chosen, and the bot sees them as Telegram updates.
"use strict";

const columns = new Map(); // chat_id -> column
let setup = null;

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

function personName(key) {
  return setup.people[key];
}

function privateColumnOf(key) {
  return [...columns.values()].find(
    (c) => c.chat.speakers.length === 1 && c.chat.speakers[0] === key,
  );
}

function buildColumn(chat) {
  const template = document.getElementById("chat-template");
  const node = template.content.firstElementChild.cloneNode(true);
  node.setAttribute("aria-label", chat.title);
  node.dataset.chat = chat.key;
  node.querySelector(".title").textContent = chat.title;
  const column = {
    chat,
    node,
    list: node.querySelector(".messages"),
    items: new Map(),
    speaker: chat.speakers[0],
    replyTo: null,
    toastTimer: null,
  };
  const input = node.querySelector("input.text");
  input.id = `text-${chat.key}`;
  const label = node.querySelector("label.label");
  label.htmlFor = input.id;
  if (chat.speakers.length > 1) {
    const fieldset = node.querySelector(".speakers");
    fieldset.hidden = false;
    for (const key of chat.speakers) {
      const option = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = `speaker-${chat.key}`;
      radio.value = key;
      radio.checked = key === column.speaker;
      radio.addEventListener("change", () => {
        column.speaker = key;
        labelComposer(column);
      });
      option.append(radio, ` ${personName(key)}`);
      fieldset.append(option);
    }
  }
  labelComposer(column);
  node.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const body = { chat_id: chat.chat_id, person: column.speaker, text };
    if (column.replyTo !== null) body.reply_to = column.replyTo;
    setReply(column, null);
    await post("/api/say", body);
  });
  node.querySelector(".cancel-reply").addEventListener("click", () => setReply(column, null));
  node.querySelector(".messages").addEventListener("click", (event) => {
    const link = event.target.closest(".text a");
    if (link) {
      event.preventDefault();
      openUrl(link.getAttribute("href") || "", column);
    }
  });
  document.getElementById("chats").append(node);
  columns.set(chat.chat_id, column);
}

function labelComposer(column) {
  const who = personName(column.speaker);
  const label = column.node.querySelector("label.label");
  label.textContent =
    column.chat.speakers.length > 1
      ? `Message ${column.chat.title} as ${who}`
      : `Message the bot as ${who}`;
}

function setReply(column, view) {
  column.replyTo = view ? view.message_id : null;
  const line = column.node.querySelector(".replying");
  line.hidden = view === null;
  if (view) {
    line.querySelector("span").textContent = `Replying to ${view.sender}`;
    column.node.querySelector("input.text").focus();
  }
}

// -- drawing messages ----------------------------------------------------------------------
function drawMessage(column, view) {
  const item = document.createElement("li");
  item.className = view.from_bot ? "msg bot" : "msg user";
  item.dataset.messageId = view.message_id;
  if (!view.from_bot && column.chat.speakers.length > 1) {
    const sender = document.createElement("div");
    sender.className = "sender";
    sender.textContent = view.sender;
    item.append(sender);
  }
  if (view.reply_to) {
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.textContent = `${view.reply_to.sender}: ${view.reply_to.text}`;
    item.append(quote);
  }
  if (view.photo) {
    const image = document.createElement("img");
    image.src = `/api/file/${view.chat_id}/${view.message_id}`;
    image.alt = "Photo from the bot";
    item.append(image);
  }
  if (view.document) {
    const link = document.createElement("a");
    link.href = `/api/file/${view.chat_id}/${view.message_id}`;
    link.download = view.document;
    link.textContent = `📄 ${view.document}`;
    item.append(link);
  }
  if (view.html) {
    const text = document.createElement("div");
    text.className = "text";
    // Safe: the server rebuilt the bot's HTML from Telegram's few tags, text escaped.
    text.innerHTML = view.html;
    item.append(text);
  }
  if (view.buttons.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard";
    keyboard.setAttribute("role", "group");
    keyboard.setAttribute("aria-label", "Buttons");
    for (const row of view.buttons) {
      const line = document.createElement("div");
      line.className = "kb-row";
      for (const spec of row) line.append(drawButton(column, view, spec));
      keyboard.append(line);
    }
    item.append(keyboard);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  if (view.edited) meta.append("edited ");
  if (!view.from_bot && column.chat.speakers.length > 1) {
    const reply = document.createElement("button");
    reply.type = "button";
    reply.className = "reply-btn";
    reply.textContent = `Reply to ${view.sender}`;
    reply.addEventListener("click", () => setReply(column, view));
    meta.append(reply);
  }
  if (meta.childNodes.length) item.append(meta);
  return item;
}

function drawButton(column, view, spec) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = spec.text;
  if (spec.url) {
    button.className = "url";
    button.addEventListener("click", () => openUrl(spec.url, column));
  } else if (spec.data !== undefined) {
    button.addEventListener("click", () =>
      post("/api/tap", {
        chat_id: view.chat_id,
        message_id: view.message_id,
        data: spec.data,
        person: column.speaker,
      }),
    );
  } else {
    button.disabled = true;
  }
  return button;
}

function apply(view, announce) {
  const column = columns.get(view.chat_id);
  if (!column) return;
  const old = column.items.get(view.message_id);
  if (view.deleted) {
    if (old) old.remove();
    column.items.delete(view.message_id);
    return;
  }
  const list = column.list;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const item = drawMessage(column, view);
  if (old) {
    old.replaceWith(item);
  } else {
    list.append(item);
    if (announce) announceNew(column, view, item);
  }
  column.items.set(view.message_id, item);
  if (atBottom || !old) list.scrollTop = list.scrollHeight;
}

// Only new messages are announced, by a polite live region of their own: announcing the
// list itself would read out every countdown edit too.
function announceNew(column, view, item) {
  const announcer = column.node.querySelector(".announcer");
  const text = item.querySelector(".text");
  const who = view.from_bot ? "The bot" : view.sender;
  announcer.textContent = `${who}: ${text ? text.textContent : "a file"}`;
}

function showAnswer(chatId, answer) {
  const column = columns.get(chatId);
  if (!column) return;
  const toast = column.node.querySelector(".toast");
  const prefix = column.chat.speakers.length > 1 ? `To ${answer.person}: ` : "";
  toast.replaceChildren(prefix + answer.text);
  toast.classList.add("shown");
  toast.classList.toggle("alert", answer.alert);
  toast.setAttribute("role", answer.alert ? "alert" : "status");
  clearTimeout(column.toastTimer);
  if (answer.alert) {
    const ok = document.createElement("button");
    ok.type = "button";
    ok.textContent = "OK";
    ok.addEventListener("click", () => toast.classList.remove("shown"));
    toast.append(" ", ok);
  } else {
    column.toastTimer = setTimeout(() => toast.classList.remove("shown"), 4000);
  }
}

// -- links ----------------------------------------------------------------------------------
// A link to the bot opens a private chat with it, sending /start with the link's payload,
// as Telegram's apps do. Whose phone opens it is asked: an invite is meant for the other.
function botStart(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const bot = setup.bot_username.toLowerCase();
  if (parsed.protocol === "tg:" && parsed.hostname === "resolve") {
    if ((parsed.searchParams.get("domain") || "").toLowerCase() !== bot) return null;
    return parsed.searchParams.get("start") || "";
  }
  if (parsed.protocol === "https:" && ["t.me", "telegram.me"].includes(parsed.hostname)) {
    if (parsed.pathname === "/share/url") {
      return botStart(parsed.searchParams.get("url") || "");
    }
    if (parsed.pathname.slice(1).toLowerCase() !== bot) return null;
    return parsed.searchParams.get("start") || "";
  }
  return null;
}

function openUrl(url, column) {
  const payload = botStart(url);
  if (payload !== null) {
    choosePerson(column, payload);
  } else if (/^https?:/i.test(url)) {
    window.open(url, "_blank", "noopener");
  }
}

function choosePerson(column, payload) {
  const chooser = column.node.querySelector(".chooser");
  const choices = chooser.querySelector(".choices");
  choices.replaceChildren();
  for (const key of Object.keys(setup.people)) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Open as ${personName(key)}`;
    button.addEventListener("click", async () => {
      chooser.hidden = true;
      const target = privateColumnOf(key);
      const text = payload ? `/start ${payload}` : "/start";
      await post("/api/say", { chat_id: target.chat.chat_id, person: key, text });
    });
    choices.append(button);
  }
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => {
    chooser.hidden = true;
  });
  choices.append(cancel);
  chooser.hidden = false;
  choices.firstElementChild.focus();
}

// -- the live feed --------------------------------------------------------------------------
function connect() {
  const status = document.getElementById("connection");
  const source = new EventSource("/api/events");
  source.addEventListener("snapshot", (event) => {
    for (const column of columns.values()) {
      column.list.replaceChildren();
      column.items.clear();
    }
    for (const view of JSON.parse(event.data)) apply(view, false);
    status.textContent = "Live: what the bot sends appears as it happens.";
  });
  source.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    if (change.message) apply(change.message, true);
    if (change.answer) showAnswer(change.chat_id, change.answer);
  });
  source.onerror = () => {
    status.textContent = "Reconnecting to the playground…";
  };
}

async function start() {
  setup = await (await fetch("/api/setup")).json();
  for (const chat of setup.chats) buildColumn(chat);
  connect();
}

start();
