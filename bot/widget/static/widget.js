/*!
 * Customer-support chat widget. Vanilla JS, no build step.
 *
 * Embed with one tag; the widget loads widget.css and the socket.io client
 * (vendor/socket.io.min.js) from next to itself:
 *
 *   <script src="https://bot.example.com/widget.js" data-server="https://chat.example.com"
 *           data-lang="fi" data-color="#0b5cab" defer></script>
 *
 * data-server  where Rasa's socket.io channel is (a path prefix such as /rasa works)
 * data-lang    fi | en (default: the page's <html lang>)
 * data-color   brand colour, #rgb or #rrggbb; text colours are derived for contrast
 * data-title   header title (default: "Asiakaspalvelu" / "Customer service")
 * data-socket-path  socket.io path if not <server path>/socket.io
 * data-max-length   longest message the customer can send (default 5000, as the channel)
 *
 * Protocol: docs/widget-protocol.md. Every message text is rendered as text
 * (textContent / text nodes), never as HTML.
 */
(function () {
  "use strict";

  var script =
    document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-server]') ||
    document.querySelector('script[src*="widget.js"]');
  if (!script || window.SupportChat) {
    return;
  }

  // --- UI text ------------------------------------------------------------------
  // Tone: warm, thank rather than apologise, a person is always one step away.
  var TEXT = {
    fi: {
      title: "Asiakaspalvelu",
      subtitle: "Virtuaaliavustaja · ihminen aina yhden napin päässä",
      launcher: "Asiakaspalvelun chat",
      launcherLabel: "Kysy meiltä",
      panel: "Asiakaspalvelun chat",
      close: "Sulje chat",
      log: "Keskustelu",
      introTitle: "Hei! Miten voin auttaa?",
      introText:
        "Olen virtuaaliavustaja ja vastaan heti. Jos haluat jutella ihmisen kanssa, asiakaspalvelijamme on aina yhden napin päässä.",
      starters: [
        { title: "Eräpäivän siirto", payload: "/request_due_date_extension" },
        { title: "Maksusuunnitelma", payload: "/request_payment_plan" },
        { title: "Laskukopio", payload: "/request_invoice_copy" },
        { title: "Maksutiedot", payload: "/ask_payment_details" },
      ],
      quickReplies: "Vastausvaihtoehdot",
      input: "Kirjoita viesti",
      placeholder: "Kirjoita viestisi…",
      send: "Lähetä",
      human: "Keskustele ihmisen kanssa",
      you: "Sinä",
      assistant: "Virtuaaliavustaja",
      agentSuffix: "asiakaspalvelusta",
      sending: "Lähetetään",
      delivered: "Perillä",
      typing: "Avustaja kirjoittaa",
      offline: "Yhteys katkesi, yhdistetään uudelleen…",
      connecting: "Yhdistetään…",
      newSession: "Aloitettiin uusi keskustelu.",
      errors: {
        empty_message: "Kirjoita viesti ensin, niin välitän sen eteenpäin.",
        message_too_long:
          "Viesti on hieman pitkä: enintään {max} merkkiä kerralla. Voit lähettää sen osissa – tekstisi on tallessa kentässä.",
        bad_request:
          "Viesti ei mennyt perille. Tekstisi on tallessa kentässä, joten voit lähettää sen uudelleen.",
        too_many_messages:
          "Hetki vain – käsittelen vielä aiempia viestejäsi. Tekstisi on tallessa kentässä, joten voit lähettää sen pian uudelleen.",
      },
      waitingTitle: "Asiakaspalvelija hoitaa asiasi",
      ticket: "Palvelupyyntö {ticket}",
      due: "Vastaus viimeistään {due}",
      queue: "Jonosijasi: {n}",
      wait: "Arvioitu odotusaika noin {n} min",
      agentJoined: "{name} asiakaspalvelusta liittyi keskusteluun",
      agent: "Asiakaspalvelija",
      addedToTicket: "Lisätty palvelupyyntöösi {ticket}",
      addedToTicketNoNumber: "Lisätty palvelupyyntöösi",
      agentTitle: "Asiakaspalvelija on mukana",
      resolvedTitle: "Asia on merkitty hoidetuksi",
      resolved: "Kiitos, että odotit! Virtuaaliavustaja jatkaa taas, ja ihminen on edelleen yhden napin päässä.",
      unread: "{n} uutta viestiä",
    },
    en: {
      title: "Customer service",
      subtitle: "Virtual assistant · a person is always one step away",
      launcher: "Customer service chat",
      launcherLabel: "Ask us",
      panel: "Customer service chat",
      close: "Close chat",
      log: "Conversation",
      introTitle: "Hi! How can I help?",
      introText:
        "I'm a virtual assistant and I answer right away. If you'd rather talk to a person, our customer service team is always one step away.",
      starters: [
        { title: "Move a due date", payload: "/request_due_date_extension" },
        { title: "Payment plan", payload: "/request_payment_plan" },
        { title: "Invoice copy", payload: "/request_invoice_copy" },
        { title: "Payment details", payload: "/ask_payment_details" },
      ],
      quickReplies: "Suggested replies",
      input: "Type a message",
      placeholder: "Type your message…",
      send: "Send",
      human: "Talk to a person",
      you: "You",
      assistant: "Virtual assistant",
      agentSuffix: "from customer service",
      sending: "Sending",
      delivered: "Delivered",
      typing: "The assistant is typing",
      offline: "Connection lost, reconnecting…",
      connecting: "Connecting…",
      newSession: "A new conversation started.",
      errors: {
        empty_message: "Type a message first and I'll pass it on.",
        message_too_long:
          "That message is a little long: up to {max} characters at a time. You can send it in parts – your text is still in the box.",
        bad_request:
          "That message didn't get through. Your text is still in the box, so you can send it again.",
        too_many_messages:
          "Just a moment – I'm still going through your earlier messages. Your text is still in the box, so you can send it again shortly.",
      },
      waitingTitle: "A person is taking this forward",
      ticket: "Ticket {ticket}",
      due: "Reply by {due}",
      queue: "Your place in the queue: {n}",
      wait: "Expected wait about {n} min",
      agentJoined: "{name} from customer service joined",
      agent: "Customer service",
      addedToTicket: "Added to your ticket {ticket}",
      addedToTicketNoNumber: "Added to your ticket",
      agentTitle: "Customer service is here",
      resolvedTitle: "Marked as resolved",
      resolved: "Thanks for waiting! The virtual assistant carries on, and a person is still one step away.",
      unread: "{n} new messages",
    },
  };

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return values[key] === undefined || values[key] === null ? "" : String(values[key]);
    });
  }

  // --- configuration --------------------------------------------------------------
  var data = script.dataset;
  var lang = (data.lang || document.documentElement.lang || "fi").slice(0, 2).toLowerCase();
  if (!TEXT[lang]) {
    lang = "fi";
  }
  var T = TEXT[lang];
  var assetBase = new URL(".", script.src || location.href);
  var serverUrl = new URL(data.server || location.origin, location.href);
  var socketPath =
    data.socketPath || serverUrl.pathname.replace(/\/+$/, "") + "/socket.io";
  var maxLength = parseInt(data.maxLength, 10) > 0 ? parseInt(data.maxLength, 10) : 5000;
  var STORAGE_KEY = "supportchat:v1:" + serverUrl.origin + serverUrl.pathname.replace(/\/+$/, "");
  var RESEND_AFTER_MS = 8000;
  // Messages to a person's ticket get one "added to your ticket" note per burst:
  // again only after the other side has written, or after a pause this long.
  var TICKET_NOTE_GAP_MS = 10 * 60 * 1000;
  var TYPING_TIMEOUT_MS = 30000;
  var MAX_ITEMS = 200;

  // --- colours: readable text on the brand colour, and a brand ink for text on white --
  function parseHex(value) {
    var match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec((value || "").trim());
    if (!match) {
      return null;
    }
    var hex = match[1];
    if (hex.length === 3) {
      hex = hex[0] + hex[0] + hex[1] + hex[1] + hex[2] + hex[2];
    }
    return [0, 2, 4].map(function (i) {
      return parseInt(hex.slice(i, i + 2), 16);
    });
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a);
    var lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function toHex(rgb) {
    return (
      "#" +
      rgb
        .map(function (v) {
          return ("0" + Math.round(v).toString(16)).slice(-2);
        })
        .join("")
    );
  }

  function mix(rgb, target, amount) {
    return rgb.map(function (v, i) {
      return v + (target[i] - v) * amount;
    });
  }

  var WHITE = [255, 255, 255];
  var DARK = [17, 24, 39];
  var SURFACE = [239, 243, 248]; // bot bubble background in widget.css
  var brand = parseHex(data.color) || parseHex("#0b5cab");
  // Text on the brand colour: white or near-black, whichever reads better.
  var onBrand = contrast(brand, WHITE) >= contrast(brand, DARK) ? WHITE : DARK;
  // Brand-coloured text and outlines on light surfaces: darken until AA (4.5:1).
  var ink = brand;
  for (var step = 0; step < 20 && contrast(ink, SURFACE) < 4.5; step++) {
    ink = mix(ink, [0, 0, 0], 0.12);
  }
  var brandHover = onBrand === WHITE ? mix(brand, [0, 0, 0], 0.15) : mix(brand, WHITE, 0.2);

  // --- state (sessionStorage: survives reloads in this tab) ----------------------
  var state = load();

  function freshState() {
    return {
      token: null,
      lastSeq: 0,
      seen: [],
      items: [],
      quickReplies: [],
      handoff: null,
      open: false,
    };
  }

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      if (saved && Array.isArray(saved.items) && Array.isArray(saved.seen)) {
        return Object.assign(freshState(), saved);
      }
    } catch (ignored) {
      // Storage blocked or corrupt: start afresh.
    }
    return freshState();
  }

  function save() {
    if (state.items.length > MAX_ITEMS) {
      state.items = state.items.slice(-MAX_ITEMS);
    }
    if (state.seen.length > 500) {
      state.seen = state.seen.slice(-500);
    }
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (ignored) {
      // Private mode or quota: the conversation still works, only reloads forget it.
    }
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
    return (
      hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20)
    );
  }

  // --- DOM helpers ----------------------------------------------------------------
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name === "className") {
        node.className = value;
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16h0A2.5 2.5 0 0 1 4 13.5z",
    close: "M6 6l12 12M18 6L6 18",
    chevron: "M6 9l6 6 6-6",
    send: "M4.5 12h13M12.5 6.5 18 12l-5.5 5.5",
    person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8a7 7 0 0 1 14 0",
    assistant: "M12 3v3M7 8h10a3 3 0 0 1 3 3v5a3 3 0 0 1-3 3H7a3 3 0 0 1-3-3v-5a3 3 0 0 1 3-3zm2.5 5.5h.01M14.5 13.5h.01",
    wifi: "M3 9a13 13 0 0 1 18 0M6.5 12.5a8 8 0 0 1 11 0M10 16a3 3 0 0 1 4 0M12 19.5h.01",
    ticket: "M4 7a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v2a2 2 0 0 0 0 4v2a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2v-2a2 2 0 0 0 0-4zM14 5v12",
    check: "M5 12.5l4.5 4.5L19 7.5",
  };

  function icon(name, className) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "cw-icon" + (className ? " " + className : ""));
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  // Text with clickable web and e-mail addresses; everything stays a text node.
  var LINK = /\b(https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?]|[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,})/gi;

  function richText(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    String(text).replace(LINK, function (match, _group, offset) {
      if (offset > last) {
        fragment.appendChild(document.createTextNode(text.slice(last, offset)));
      }
      var href = /^https?:\/\//i.test(match) ? match : "mailto:" + match;
      var link = el("a", { href: href, rel: "noopener noreferrer nofollow" });
      if (href.indexOf("mailto:") !== 0) {
        link.setAttribute("target", "_blank");
      }
      link.textContent = match;
      fragment.appendChild(link);
      last = offset + match.length;
      return match;
    });
    if (last < text.length) {
      fragment.appendChild(document.createTextNode(text.slice(last)));
    }
    return fragment;
  }

  var timeFormat = new Intl.DateTimeFormat(lang === "fi" ? "fi-FI" : "en-GB", {
    hour: "2-digit",
    minute: "2-digit",
  });
  var dueFormat = new Intl.DateTimeFormat(lang === "fi" ? "fi-FI" : "en-GB", {
    weekday: "short",
    day: "numeric",
    month: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });

  // --- build the widget --------------------------------------------------------------
  var ids = {
    panel: "cw-panel-" + Math.random().toString(36).slice(2, 8),
  };
  ids.title = ids.panel + "-title";
  ids.subtitle = ids.panel + "-subtitle";
  ids.input = ids.panel + "-input";

  var launcherBadge = el("span", { className: "cw-badge", hidden: true, "aria-hidden": "true" });
  var launcher = el(
    "button",
    {
      type: "button",
      className: "cw-launcher",
      "aria-expanded": "false",
      "aria-controls": ids.panel,
      "aria-label": T.launcher,
    },
    [
      icon("chat", "cw-launcher-open"),
      icon("chevron", "cw-launcher-close"),
      el("span", { className: "cw-launcher-label", text: T.launcherLabel, "aria-hidden": "true" }),
      launcherBadge,
    ]
  );

  var header = el("div", { className: "cw-header" }, [
    el("span", { className: "cw-avatar" }, [icon("assistant")]),
    el("div", { className: "cw-heading" }, [
      el("h2", { className: "cw-title", id: ids.title, text: data.title || T.title }),
      el("p", { className: "cw-subtitle", id: ids.subtitle, text: T.subtitle }),
    ]),
  ]);

  var offline = el("div", { className: "cw-offline", role: "status", hidden: true }, [
    icon("wifi"),
    el("span", { className: "cw-offline-text" }),
  ]);
  var banner = el("div", { className: "cw-banner", role: "status", hidden: true });

  var intro = el("div", { className: "cw-intro", hidden: true }, [
    el("p", { className: "cw-intro-title", text: T.introTitle }),
    el("p", { className: "cw-intro-text", text: T.introText }),
  ]);
  var typing = el("div", { className: "cw-typing", hidden: true, "aria-hidden": "true" }, [
    el("span", { className: "cw-dot" }),
    el("span", { className: "cw-dot" }),
    el("span", { className: "cw-dot" }),
  ]);
  var log = el(
    "div",
    {
      className: "cw-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": T.log,
      tabindex: "0",
    },
    [intro, typing]
  );
  var quick = el("div", {
    className: "cw-quick",
    role: "group",
    "aria-label": T.quickReplies,
    hidden: true,
  });
  var note = el("p", { className: "cw-note", role: "alert", hidden: true });
  var input = el("textarea", {
    id: ids.input,
    className: "cw-input",
    rows: "1",
    placeholder: T.placeholder,
    "aria-label": T.input,
    autocomplete: "off",
    enterkeyhint: "send",
  });
  var sendButton = el("button", { type: "submit", className: "cw-send", "aria-label": T.send }, [
    icon("send"),
  ]);
  var form = el("form", { className: "cw-composer", novalidate: true }, [input, sendButton]);
  var humanButton = el("button", { type: "button", className: "cw-human" }, [
    icon("person"),
    el("span", { text: T.human }),
  ]);
  var closeButton = el("button", { type: "button", className: "cw-close", "aria-label": T.close }, [
    icon("close"),
  ]);

  var panel = el(
    "section",
    {
      className: "cw-panel",
      id: ids.panel,
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": ids.title,
      "aria-describedby": ids.subtitle,
      hidden: true,
    },
    [
      header,
      offline,
      banner,
      log,
      el("div", { className: "cw-footer" }, [quick, note, form, humanButton]),
      // Last in the DOM so that Tab reaches it last; shown in the header by CSS.
      closeButton,
    ]
  );

  var root = el("div", { className: "cw-root", lang: lang, hidden: true }, [launcher, panel]);
  root.style.setProperty("--cw-brand", toHex(brand));
  root.style.setProperty("--cw-brand-hover", toHex(brandHover));
  root.style.setProperty("--cw-on-brand", toHex(onBrand));
  root.style.setProperty("--cw-ink", toHex(ink));
  root.style.setProperty(
    "--cw-on-brand-soft",
    onBrand === WHITE ? "rgba(255, 255, 255, 0.18)" : "rgba(0, 0, 0, 0.08)"
  );

  // --- rendering ---------------------------------------------------------------------
  var nodesById = {};

  function renderItem(item, previous) {
    var node;
    if (item.kind === "note") {
      node = el("div", { className: "cw-event" }, [el("span", { text: item.text })]);
    } else {
      var mine = item.kind === "user";
      var who = mine ? T.you : item.name ? agentLabel(item.name) : T.assistant;
      var bubble = el("div", { className: "cw-bubble" }, [
        el("span", { className: "cw-sr", text: who + ": " }),
        richText(item.text),
      ]);
      var meta = el("div", { className: "cw-meta" }, [
        el("time", {
          datetime: new Date(item.ts).toISOString(),
          text: timeFormat.format(new Date(item.ts)),
        }),
      ]);
      if (mine) {
        meta.appendChild(el("span", { className: "cw-status" }));
      }
      var showName =
        !mine && item.name && !(previous && previous.kind === "bot" && previous.name === item.name);
      // Above an agent's bubble: their first name (and the team, more quietly).
      var nameLine = showName
        ? el("div", { className: "cw-name", "aria-hidden": "true" }, [
            el("span", { className: "cw-name-first", text: item.name }),
            item.name === T.agent ? null : " ",
            item.name === T.agent ? null : el("span", { className: "cw-name-team", text: T.agentSuffix }),
          ])
        : null;
      node = el("div", { className: "cw-msg " + (mine ? "cw-msg--user" : "cw-msg--bot") }, [
        nameLine,
        bubble,
        meta,
      ]);
      if (item.name) {
        node.classList.add("cw-msg--agent");
      }
    }
    nodesById[item.id] = node;
    updateStatus(item);
    return node;
  }

  // "Aino Virtanen" -> "Aino": agents are introduced by their first name.
  function firstName(name) {
    var first = String(name || "").trim().split(/\s+/)[0] || "";
    return first.slice(0, 40);
  }

  function agentLabel(name) {
    return name === T.agent ? name : name + " " + T.agentSuffix;
  }

  function updateStatus(item) {
    var node = nodesById[item.id];
    if (!node || item.kind !== "user") {
      return;
    }
    var status = node.querySelector(".cw-status");
    var delivered = item.status === "delivered";
    node.classList.toggle("cw-msg--pending", !delivered);
    status.textContent = "";
    status.setAttribute("title", delivered ? T.delivered : T.sending);
    status.setAttribute("aria-label", delivered ? T.delivered : T.sending);
    status.setAttribute("role", "img");
    if (delivered) {
      status.appendChild(icon("check"));
    } else {
      status.appendChild(el("span", { className: "cw-clock", "aria-hidden": "true" }));
    }
  }

  function appendItem(item) {
    var previous = state.items[state.items.length - 1];
    state.items.push(item);
    log.insertBefore(renderItem(item, previous), typing);
    intro.hidden = true;
    if (item.kind === "user" && state.items.filter(isCustomer).length === 1) {
      renderQuickReplies(); // the starter topics go once the customer writes
    }
    save();
    scrollToEnd(item.kind === "user");
  }

  function removeItem(item) {
    state.items = state.items.filter(function (other) {
      return other.id !== item.id;
    });
    var node = nodesById[item.id];
    if (node && node.parentNode) {
      node.parentNode.removeChild(node);
    }
    delete nodesById[item.id];
    save();
  }

  // The log follows new messages while the customer is at its end; scrolled up to
  // read, it stays put (their own messages always bring it to the end).
  var followEnd = true;
  var autoTop = 0; // where we last scrolled to; only the customer scrolls above it

  log.addEventListener("scroll", function () {
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 48) {
      followEnd = true;
    } else if (log.scrollTop < autoTop - 4) {
      followEnd = false;
    }
  });

  function scrollToEnd(force) {
    if (force) {
      followEnd = true;
    }
    if (followEnd) {
      log.scrollTop = log.scrollHeight;
      autoTop = log.scrollTop;
    }
  }

  if (typeof window.ResizeObserver === "function") {
    // The footer grows with quick replies and the input; keep the end in view.
    new window.ResizeObserver(function () {
      scrollToEnd(false);
    }).observe(log);
  }

  function isCustomer(item) {
    return item.kind === "user";
  }

  function customerHasWritten() {
    return state.items.some(isCustomer);
  }

  // The channel greets a new session at once; if nothing has come shortly after
  // opening (slow or no connection), a short introduction fills the empty panel.
  function introduceLater() {
    window.setTimeout(function () {
      if (!state.items.length && isOpen()) {
        intro.hidden = false;
      }
    }, 2500);
  }

  function renderQuickReplies() {
    quick.textContent = "";
    var replies = state.quickReplies;
    var handoffState = state.handoff && state.handoff.state;
    var withPerson = handoffState === "waiting" || handoffState === "agent";
    if (!replies.length && !customerHasWritten() && !withPerson) {
      replies = T.starters;
    }
    replies.forEach(function (reply) {
      var button = el("button", { type: "button", className: "cw-chip", text: reply.title });
      button.addEventListener("click", function () {
        sendMessage(reply.payload, reply.title);
        input.focus();
      });
      quick.appendChild(button);
    });
    quick.hidden = replies.length === 0;
    scrollToEnd(false);
  }

  function showNote(text) {
    note.textContent = text;
    note.hidden = !text;
  }

  function setTyping(on) {
    window.clearTimeout(setTyping.timer);
    typing.hidden = !on;
    if (on) {
      setTyping.timer = window.setTimeout(function () {
        typing.hidden = true;
      }, TYPING_TIMEOUT_MS);
      scrollToEnd(false);
    }
  }

  function dueText(handoff) {
    if (handoff.due_text) {
      return handoff.due_text;
    }
    if (handoff.due_at) {
      var when = new Date(handoff.due_at);
      if (!isNaN(when.getTime())) {
        return dueFormat.format(when);
      }
    }
    return "";
  }

  function renderBanner() {
    var handoff = state.handoff;
    banner.textContent = "";
    banner.className = "cw-banner";
    if (!handoff || !handoff.state || handoff.state === "bot") {
      banner.hidden = true;
      return;
    }
    var title;
    var lines = [];
    if (handoff.state === "waiting") {
      title = T.waitingTitle;
      var parts = [];
      if (handoff.ticket_number) {
        parts.push(format(T.ticket, { ticket: handoff.ticket_number }));
      }
      var due = dueText(handoff);
      if (due) {
        parts.push(format(T.due, { due: due }));
      }
      if (parts.length) {
        lines.push(parts.join(" · "));
      }
      if (handoff.queue_position) {
        lines.push(format(T.queue, { n: handoff.queue_position }));
      }
      // The helpdesk estimates the wait only with agents online; with nobody
      // online the reply time above is the promise.
      if (typeof handoff.expected_wait_minutes === "number" && handoff.agents_online !== 0) {
        lines.push(format(T.wait, { n: Math.max(1, Math.round(handoff.expected_wait_minutes)) }));
      }
    } else if (handoff.state === "agent") {
      title = T.agentTitle;
      if (handoff.agent_name) {
        lines.push(format(T.agentJoined, { name: firstName(handoff.agent_name) }));
      }
      if (handoff.ticket_number) {
        lines.push(format(T.ticket, { ticket: handoff.ticket_number }));
      }
    } else if (handoff.state === "resolved") {
      title = T.resolvedTitle;
      lines.push(T.resolved);
    } else {
      banner.hidden = true;
      return;
    }
    banner.classList.add("cw-banner--" + handoff.state);
    var bannerIcon = { waiting: "ticket", agent: "person", resolved: "check" }[handoff.state];
    banner.appendChild(icon(bannerIcon));
    var body = el("div", { className: "cw-banner-body" }, [
      el("p", { className: "cw-banner-title", text: title }),
    ]);
    lines.forEach(function (line) {
      body.appendChild(el("p", { className: "cw-banner-line", text: line }));
    });
    banner.appendChild(body);
    banner.hidden = false;
  }

  var unread = 0;

  function setUnread(count) {
    unread = count;
    launcherBadge.textContent = count > 9 ? "9+" : String(count);
    launcherBadge.hidden = count === 0;
    launcher.setAttribute(
      "aria-label",
      T.launcher + (count ? ", " + format(T.unread, { n: count }) : "")
    );
  }

  function renderAll() {
    Array.prototype.slice.call(log.querySelectorAll(".cw-msg, .cw-event")).forEach(function (node) {
      node.parentNode.removeChild(node);
    });
    nodesById = {};
    state.items.forEach(function (item, index) {
      log.insertBefore(renderItem(item, state.items[index - 1]), typing);
    });
    intro.hidden = true;
    renderQuickReplies();
    renderBanner();
  }

  // --- opening and closing -------------------------------------------------------------
  function isOpen() {
    return !panel.hidden;
  }

  // `restoring`: reopened after a reload; focus stays where the page put it.
  function open(restoring) {
    if (isOpen()) {
      input.focus();
      return;
    }
    panel.hidden = false;
    root.classList.add("cw-is-open");
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    setUnread(0);
    connect();
    introduceLater();
    scrollToEnd(true);
    if (restoring !== true) {
      input.focus();
    }
  }

  function close() {
    if (!isOpen()) {
      return;
    }
    panel.hidden = true;
    root.classList.remove("cw-is-open");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (isOpen()) {
      close();
    } else {
      open();
    }
  });
  closeButton.addEventListener("click", close);
  var fullScreen = window.matchMedia("(max-width: 480px), (max-height: 520px)");

  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab" && fullScreen.matches) {
      // Full screen, the page behind is covered: keep Tab inside the panel.
      var focusable = Array.prototype.filter.call(
        panel.querySelectorAll("button, textarea, [tabindex='0']"),
        function (node) {
          return !node.disabled && node.offsetParent !== null;
        }
      );
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  launcher.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && isOpen()) {
      event.preventDefault();
      close();
    }
  });
  // Any element on the page with data-chat-open opens the chat.
  document.addEventListener("click", function (event) {
    var opener = event.target && event.target.closest && event.target.closest("[data-chat-open]");
    if (opener && !root.contains(opener)) {
      event.preventDefault();
      open();
    }
  });

  // --- composing -------------------------------------------------------------------------
  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 132) + "px";
  }

  input.addEventListener("input", function () {
    autoGrow();
    if (!note.hidden && input.value.length <= maxLength) {
      showNote("");
    }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  humanButton.addEventListener("click", function () {
    sendMessage("/request_human", T.human);
  });

  function submit() {
    var text = input.value.trim();
    if (!text) {
      showNote(T.errors.empty_message);
      input.focus();
      return;
    }
    if (text.length > maxLength) {
      showNote(format(T.errors.message_too_long, { max: maxLength }));
      input.focus();
      return;
    }
    showNote("");
    input.value = "";
    autoGrow();
    sendMessage(text, text);
    input.focus();
  }

  // `message` goes to the server; `shown` is what the customer sees as theirs.
  function sendMessage(message, shown) {
    var item = {
      id: uuid(),
      kind: "user",
      text: shown,
      send: message,
      ts: Date.now(),
      status: "pending",
    };
    state.quickReplies = [];
    appendItem(item);
    renderQuickReplies();
    connect();
    emitMessage(item);
  }

  // --- the connection ------------------------------------------------------------------------
  var socket = null;
  var ready = false; // connected and the session confirmed
  var everConnected = false;
  var resendTimer = null;

  function metadata() {
    return { language: lang, page: window.location.href };
  }

  function emitMessage(item) {
    if (!socket || !ready || item.status !== "pending") {
      return; // sent when the session is confirmed
    }
    item.sentAt = Date.now();
    socket.emit("user_uttered", {
      message: item.send,
      message_id: item.id,
      session_id: state.token,
      metadata: metadata(),
    });
    scheduleResend();
  }

  function flushPending() {
    state.items.forEach(function (item) {
      if (item.kind === "user" && item.status === "pending") {
        emitMessage(item);
      }
    });
  }

  // A message without a receipt is sent again, with the same message_id (harmless).
  function scheduleResend() {
    if (resendTimer) {
      return;
    }
    resendTimer = window.setTimeout(function () {
      resendTimer = null;
      var now = Date.now();
      var waiting = false;
      state.items.forEach(function (item) {
        if (item.kind === "user" && item.status === "pending") {
          waiting = true;
          if (ready && now - (item.sentAt || 0) >= RESEND_AFTER_MS) {
            emitMessage(item);
          }
        }
      });
      if (waiting) {
        scheduleResend();
      }
    }, RESEND_AFTER_MS);
  }

  function findItem(messageId) {
    for (var i = state.items.length - 1; i >= 0; i--) {
      if (state.items[i].id === messageId) {
        return state.items[i];
      }
    }
    return null;
  }

  function alreadyShown(seq) {
    if (typeof seq !== "number") {
      return false;
    }
    if (state.seen.indexOf(seq) !== -1) {
      return true;
    }
    state.seen.push(seq);
    if (seq > state.lastSeq) {
      state.lastSeq = seq;
    }
    return false;
  }

  function setOffline(on, text) {
    offline.querySelector(".cw-offline-text").textContent = text || T.offline;
    offline.hidden = !on;
    root.classList.toggle("cw-is-offline", on);
  }

  function sessionRequest() {
    var request = { last_seq: state.lastSeq, metadata: metadata() };
    if (state.token) {
      request.session_id = state.token;
    }
    socket.emit("session_request", request);
  }

  // The socket.io client is loaded once, from next to widget.js.
  function loadClient(callback) {
    if (typeof window.io === "function") {
      callback();
      return;
    }
    var tag = el("script", { src: new URL("vendor/socket.io.min.js", assetBase).href });
    tag.addEventListener("load", callback);
    tag.addEventListener("error", function () {
      // Say so; the next open or send tries again.
      setOffline(true);
      tag.parentNode.removeChild(tag);
      connect.loading = false;
    });
    document.head.appendChild(tag);
  }

  function connect() {
    if (socket || connect.loading) {
      return;
    }
    connect.loading = true;
    loadClient(function () {
      if (socket) {
        return;
      }
      socket = window.io(serverUrl.origin, {
        path: socketPath,
        reconnection: true,
        reconnectionDelay: 1000,
        reconnectionDelayMax: 15000,
        randomizationFactor: 0.5,
        timeout: 10000,
      });
      bindSocket(socket);
    });
  }

  function bindSocket(socket) {
    socket.on("connect", function () {
      ready = false;
      sessionRequest();
    });

    socket.on("connect_error", function () {
      ready = false;
      setOffline(true, everConnected ? T.offline : T.connecting);
    });

    socket.on("disconnect", function (reason) {
      ready = false;
      // Nothing emitted while disconnected: unacknowledged messages are resent on confirm.
      socket.sendBuffer = [];
      setTyping(false);
      if (reason === "io server disconnect") {
        // The server let us go; socket.io does not retry this by itself.
        window.setTimeout(function () {
          socket.connect();
        }, 1000 + Math.random() * 2000);
      }
      setOffline(true, T.offline);
    });

    socket.on("session_confirm", function (confirm) {
      var token = typeof confirm === "string" ? confirm : confirm && confirm.session_id;
      if (!token) {
        return;
      }
      // Rasa's own channel confirms with the bare id and no `resumed`.
      var resumed =
        typeof confirm === "object" && "resumed" in confirm
          ? !!confirm.resumed
          : token === state.token;
      if (!resumed) {
        // A new conversation: its seq numbers start afresh.
        if (state.token && state.items.length) {
          appendItem({ id: uuid(), kind: "note", text: T.newSession, ts: Date.now() });
        }
        state.lastSeq = 0;
        state.seen = [];
        state.handoff = null;
      }
      state.token = token;
      if (confirm && typeof confirm === "object" && confirm.handoff) {
        state.handoff = confirm.handoff;
      }
      ready = true;
      everConnected = true;
      setOffline(false);
      save();
      renderBanner();
      renderQuickReplies();
      flushPending();
    });

    socket.on("receipt", function (receipt) {
      var item = receipt && findItem(receipt.message_id);
      if (item && item.status !== "delivered") {
        item.status = "delivered";
        updateStatus(item);
        if (receipt.status === "added_to_ticket") {
          noteAddedToTicket(receipt.ticket_number || (state.handoff && state.handoff.ticket_number));
        }
        save();
      }
    });

    socket.on("typing", function (event) {
      setTyping(!!(event && event.on));
    });

    socket.on("bot_uttered", function (message) {
      if (!message || alreadyShown(message.seq)) {
        return;
      }
      setTyping(false);
      var text = typeof message.text === "string" ? message.text : "";
      var replies = buttonsOf(message);
      var name = senderName(message);
      if (text) {
        appendItem({
          id: uuid(),
          kind: "bot",
          text: text,
          name: name,
          seq: message.seq,
          ts: Date.now(),
        });
        noticeUnread();
      }
      if (replies.length) {
        state.quickReplies = replies;
        renderQuickReplies();
      }
      save();
    });

    socket.on("handoff", function (handoff) {
      if (!handoff || alreadyShown(handoff.seq)) {
        return;
      }
      state.handoff = handoff;
      if (handoff.state === "agent" && handoff.agent_name) {
        appendItem({
          id: uuid(),
          kind: "note",
          text: format(T.agentJoined, { name: firstName(handoff.agent_name) }),
          ts: Date.now(),
        });
        noticeUnread();
      }
      save();
      renderBanner();
      renderQuickReplies();
    });

    socket.on("error", function (error) {
      var code = error && error.code;
      if (code === "bad_session") {
        state.token = null;
        ready = false;
        save();
        sessionRequest();
        return;
      }
      var item = error && error.message_id ? findItem(error.message_id) : null;
      if (item && item.kind === "user") {
        // Not accepted: take it back into the input so nothing is lost.
        removeItem(item);
        if (!input.value.trim() && item.send === item.text) {
          input.value = item.text;
          autoGrow();
        }
      }
      var text = T.errors[code] || T.errors.bad_request;
      showNote(format(text, { max: maxLength }));
    });
  }

  // Who wrote a bot_uttered: null for the virtual assistant, else the agent's first
  // name (pushed by the helpdesk with sender "agent"), or "Customer service".
  function senderName(message) {
    var name = message.agent_name || message.sender_name || null;
    if (!name && message.sender === "agent") {
      name = (state.handoff && state.handoff.agent_name) || null;
    }
    if (name) {
      return firstName(name) || T.agent;
    }
    return message.sender === "agent" ? T.agent : null;
  }

  // Once per burst: the first message after the other side wrote (or after a
  // long pause) gets the note; the ones right after it don't.
  function noteAddedToTicket(ticketNumber) {
    var now = Date.now();
    for (var i = state.items.length - 1; i >= 0; i--) {
      var other = state.items[i];
      if (other.ticketNote) {
        if (now - other.ts < TICKET_NOTE_GAP_MS) {
          return;
        }
        break;
      }
      if (other.kind !== "user") {
        break;
      }
    }
    appendItem({
      id: uuid(),
      kind: "note",
      ticketNote: true,
      text: ticketNumber
        ? format(T.addedToTicket, { ticket: ticketNumber })
        : T.addedToTicketNoNumber,
      ts: now,
    });
  }

  function buttonsOf(message) {
    var list =
      message.quick_replies && message.quick_replies.length
        ? message.quick_replies
        : message.buttons || [];
    return list
      .filter(function (button) {
        return button && typeof button.title === "string" && typeof button.payload === "string";
      })
      .map(function (button) {
        return { title: button.title, payload: button.payload };
      });
  }

  function noticeUnread() {
    if (!isOpen()) {
      setUnread(unread + 1);
    }
  }

  // --- start ---------------------------------------------------------------------------
  function start() {
    var stylesheet = el("link", { rel: "stylesheet", href: new URL("widget.css", assetBase).href });
    var shown = false;
    function show() {
      if (!shown) {
        shown = true;
        root.hidden = false;
      }
    }
    stylesheet.addEventListener("load", show);
    stylesheet.addEventListener("error", show);
    window.setTimeout(show, 3000);
    document.head.appendChild(stylesheet);
    document.body.appendChild(root);
    renderAll();
    if (state.open) {
      open(true);
    } else if (state.token) {
      connect(); // a conversation is going on: keep receiving (unread badge)
    }
  }

  window.SupportChat = {
    open: function () {
      open();
    },
    close: close,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
