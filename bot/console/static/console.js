/* Agent console: live queue and ticket pages. Vanilla JS, no build step.
 *
 * The pages are server-rendered and work without this script (plain forms).
 * With it: live updates over server-sent events (GET /console/events), actions
 * through the JSON API (/console/api/...) with the X-CSRF-Token header, canned
 * replies into the reply box. Every text from a ticket is put in the page as
 * text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-console]");
  if (!root) return;

  var labels = JSON.parse(document.getElementById("console-labels").textContent);
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var timeZone = root.getAttribute("data-timezone") || undefined;
  var me = root.getAttribute("data-me");
  var liveState = document.getElementById("live-state");
  var clockSkew = 0; // server time minus this browser's time, in ms

  // --- small helpers -----------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function now() {
    return new Date(Date.now() + clockSkew);
  }

  var partsFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: timeZone,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });

  function parts(date) {
    var found = {};
    partsFormat.formatToParts(date).forEach(function (part) {
      found[part.type] = part.value;
    });
    return found;
  }

  /* "09.31" today, "2.12.2024 09.31" another day (in the service's time zone). */
  function formatTime(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    var p = parts(date);
    var today = parts(now());
    var clock = p.hour + "." + p.minute;
    if (p.year === today.year && p.month === today.month && p.day === today.day) return clock;
    return Number(p.day) + "." + Number(p.month) + "." + p.year + " " + clock;
  }

  function duration(minutes) {
    if (minutes < 60) return Math.max(minutes, 0) + " min";
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    if (hours < 24) return rest ? hours + " h " + rest + " min" : hours + " h";
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  /* {text, urgency}: urgency is breached, soon or ok, like the server's. */
  function timeLeft(dueIso) {
    var minutes = Math.floor((new Date(dueIso) - now()) / 60000);
    if (minutes < 0) return { text: duration(-minutes) + " past due", urgency: "breached" };
    if (minutes < labels.due_soon_minutes) return { text: duration(minutes) + " left", urgency: "soon" };
    return { text: duration(minutes) + " left", urgency: "ok" };
  }

  function urgencyBadge(urgency) {
    if (urgency === "breached") return el("span", "badge badge-breached", "overdue");
    if (urgency === "soon") return el("span", "badge badge-soon", "about to breach");
    return null;
  }

  function api(method, path, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { ok: response.ok, status: response.status, data: data };
          });
      },
      function () {
        return {
          ok: false,
          status: 0,
          data: { error: "The console could not reach the server. Check the connection and try again." },
        };
      }
    );
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function setLive(text, state) {
    if (!liveState) return;
    liveState.textContent = text;
    liveState.setAttribute("data-state", state);
  }

  /* Server-sent events: `onTicket(event)` for every change, `onOpen()` after each (re)connect. */
  function listen(onTicket, onOpen) {
    if (!window.EventSource) {
      setLive("Live updates are not supported by this browser: reload to see changes.", "off");
      return;
    }
    var source = new EventSource("/console/events");
    source.addEventListener("open", function () {
      setLive("Live: changes appear as they happen.", "on");
      onOpen();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        setLive("Live updates stopped. Reload the page (you may need to sign in again).", "off");
      } else {
        setLive("Connection lost, reconnecting…", "connecting");
      }
    });
    source.addEventListener("ticket", function (message) {
      var event;
      try {
        event = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      onTicket(event);
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  // --- queue page --------------------------------------------------------------------

  function queuePage() {
    var body = document.getElementById("queue-rows");
    var empty = document.getElementById("queue-empty");
    var announce = document.getElementById("queue-announce");
    var summary = document.getElementById("queue-summary");
    var tickets = null;

    function row(ticket) {
      var left = timeLeft(ticket.due_at);
      var tr = el("tr", "queue-row urgency-" + left.urgency + (ticket.assignee === me ? " is-mine" : ""));
      tr.setAttribute("data-number", ticket.number);

      var th = el("th");
      th.setAttribute("scope", "row");
      var link = el("a", null, ticket.number);
      link.href = "/console/tickets/" + encodeURIComponent(ticket.number);
      th.appendChild(link);
      if (ticket.priority === "high") {
        th.appendChild(document.createTextNode(" "));
        th.appendChild(el("span", "badge badge-high", "high"));
      }
      tr.appendChild(th);

      tr.appendChild(el("td", null, labels.reasons[ticket.reason] || ticket.reason));
      var langCell = el("td");
      var lang = el("span", "lang", String(ticket.language).toUpperCase());
      lang.title = labels.languages[ticket.language] || ticket.language;
      langCell.appendChild(lang);
      tr.appendChild(langCell);
      tr.appendChild(el("td", null, String(ticket.topic).replace(/_/g, " ")));

      var due = el("td", "due");
      due.appendChild(el("span", "time-left", left.text));
      var badge = urgencyBadge(left.urgency);
      if (badge) {
        due.appendChild(document.createTextNode(" "));
        due.appendChild(badge);
      }
      due.appendChild(document.createTextNode(" "));
      due.appendChild(el("span", "due-at muted small", "due " + formatTime(ticket.due_at)));
      tr.appendChild(due);

      var statusCell = el("td");
      statusCell.appendChild(el("span", "status status-" + ticket.status, labels.statuses[ticket.status] || ticket.status));
      tr.appendChild(statusCell);
      tr.appendChild(el("td", null, ticket.assignee ? ticket.assignee_name || ticket.assignee : "—"));
      return tr;
    }

    function setSummary(name, text, show) {
      var node = summary.querySelector('[data-summary="' + name + '"]');
      if (!node) return;
      node.textContent = text;
      node.hidden = !show;
    }

    function render() {
      if (!tickets) return;
      var fragment = document.createDocumentFragment();
      var breached = 0;
      var soon = 0;
      tickets.forEach(function (ticket) {
        var left = timeLeft(ticket.due_at);
        if (left.urgency === "breached") breached += 1;
        if (left.urgency === "soon") soon += 1;
        fragment.appendChild(row(ticket));
      });
      body.replaceChildren(fragment);
      empty.hidden = tickets.length > 0;
      setSummary("count", tickets.length + " open ticket" + (tickets.length === 1 ? "" : "s"), true);
      setSummary("breached", breached + " overdue", breached > 0);
      setSummary("soon", soon + " about to breach", soon > 0);
    }

    function refresh() {
      return api("GET", "/console/api/queue").then(function (result) {
        if (!result.ok) {
          if (result.status === 401) setLive("You have been signed out. Reload the page to sign in.", "off");
          return;
        }
        clockSkew = new Date(result.data.now) - Date.now();
        tickets = result.data.tickets;
        var online = result.data.agents_online;
        setSummary("online", online + " agent" + (online === 1 ? "" : "s") + " online", true);
        render();
      });
    }

    var refreshSoon = debounce(refresh, 150);
    listen(function (event) {
      if (event.kind === "created") {
        announce.textContent =
          "New ticket " + event.number + ": " + (labels.reasons[event.ticket.reason] || event.ticket.reason);
      }
      refreshSoon();
    }, refreshSoon);
    setInterval(render, 30000); // time left moves on by itself
  }

  // --- ticket page -------------------------------------------------------------------

  function ticketPage() {
    var number = root.getAttribute("data-number");
    var base = "/console/api/tickets/" + encodeURIComponent(number);
    var transcript = document.getElementById("transcript");
    var notesList = document.getElementById("notes");
    var result = document.getElementById("action-result");
    var replyForm = document.getElementById("reply");
    var replyText = document.getElementById("reply-text");
    var noteForm = root.querySelector(".note-form");
    var noteText = document.getElementById("note-text");
    var callBanner = document.getElementById("call-banner");
    var fillIns = []; // [..] parts of inserted canned replies, still to be filled in
    var shown = null; // the transcript as last rendered

    function showResult(data, failed) {
      result.replaceChildren();
      var flash = document.getElementById("flash");
      if (flash) flash.remove();
      (data.notices || []).forEach(function (text) {
        result.appendChild(el("p", "notice", text));
      });
      (data.warnings || []).forEach(function (text) {
        var p = el("p", "notice notice-error", text);
        p.setAttribute("role", "alert");
        result.appendChild(p);
      });
      if (failed) {
        var error = el("p", "notice notice-error", data.error || "That didn't go through. Please try again.");
        error.setAttribute("role", "alert");
        result.appendChild(error);
      }
    }

    function messageItem(m) {
      var li = el("li", "msg msg-" + m.sender);
      var meta = el("p", "msg-meta");
      var who = m.sender === "agent" && m.author ? m.author + " (agent)" : labels.senders[m.sender] || m.sender;
      meta.appendChild(el("span", "msg-who", who));
      meta.appendChild(document.createTextNode(" "));
      var time = el("time", null, formatTime(m.sent_at));
      time.setAttribute("datetime", m.sent_at);
      meta.appendChild(time);
      setDelivery(meta, m.delivery);
      li.appendChild(meta);
      li.appendChild(el("p", "msg-text", m.text));
      return li;
    }

    function setDelivery(meta, delivery) {
      var tag = meta.querySelector(".delivery");
      if (!delivery) {
        if (tag) tag.remove();
        return;
      }
      if (!tag) {
        meta.appendChild(document.createTextNode(" "));
        tag = el("span");
        meta.appendChild(tag);
      }
      tag.className = "delivery delivery-" + delivery;
      tag.textContent = labels.deliveries[delivery] || delivery;
    }

    function sameStart(a, b) {
      if (!a || a.length > b.length) return false;
      for (var i = 0; i < a.length; i += 1) {
        if (a[i].sender !== b[i].sender || a[i].text !== b[i].text || a[i].sent_at !== b[i].sent_at) return false;
      }
      return true;
    }

    function renderTranscript(messages) {
      var atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
      var grew = !shown || messages.length > shown.length;
      if (shown && sameStart(shown, messages)) {
        // Only additions: append them (screen readers announce just those).
        var items = transcript.children;
        shown.forEach(function (m, i) {
          if (m.delivery !== messages[i].delivery && items[i]) {
            setDelivery(items[i].querySelector(".msg-meta"), messages[i].delivery);
          }
        });
        messages.slice(shown.length).forEach(function (m) {
          transcript.appendChild(messageItem(m));
        });
      } else {
        var fragment = document.createDocumentFragment();
        messages.forEach(function (m) {
          fragment.appendChild(messageItem(m));
        });
        transcript.replaceChildren(fragment);
      }
      shown = messages;
      if (atBottom || grew) transcript.scrollTop = transcript.scrollHeight;
    }

    function renderNotes(notes) {
      var fragment = document.createDocumentFragment();
      notes.forEach(function (n) {
        var li = el("li");
        var meta = el("p", "msg-meta");
        meta.appendChild(el("span", "msg-who", n.author));
        meta.appendChild(document.createTextNode(" "));
        var time = el("time", null, formatTime(n.created_at));
        time.setAttribute("datetime", n.created_at);
        meta.appendChild(time);
        li.appendChild(meta);
        li.appendChild(el("p", "msg-text", n.text));
        fragment.appendChild(li);
      });
      notesList.replaceChildren(fragment);
    }

    function showAction(action, visible, label) {
      var form = root.querySelector('.action-form[data-action="' + action + '"]');
      if (!form) return;
      form.hidden = !visible;
      if (label) form.querySelector("button").textContent = label;
    }

    function render(ticket) {
      var status = document.getElementById("ticket-status");
      status.className = "status status-" + ticket.status;
      status.textContent = labels.statuses[ticket.status] || ticket.status;

      var holder = document.getElementById("ticket-holder");
      holder.replaceChildren();
      if (ticket.assignee) {
        holder.appendChild(document.createTextNode("held by "));
        holder.appendChild(el("strong", null, ticket.held_by_me ? "you" : ticket.assignee_name || ticket.assignee));
      } else {
        holder.textContent = "nobody holds it yet";
      }

      var due = document.getElementById("ticket-due");
      if (due) {
        due.hidden = ticket.status === "resolved";
        var left = timeLeft(ticket.due_at);
        due.className = "due urgency-" + left.urgency;
        due.replaceChildren(document.createTextNode(left.text));
        var badge = urgencyBadge(left.urgency);
        if (badge) {
          due.appendChild(document.createTextNode(" "));
          due.appendChild(badge);
        }
        due.appendChild(document.createTextNode(" "));
        due.appendChild(el("span", "muted", "(due " + formatTime(ticket.due_at) + ")"));
      }

      var resolved = ticket.status === "resolved";
      showAction("claim", !resolved && !ticket.assignee);
      showAction(
        "take-over",
        !resolved && ticket.assignee && !ticket.held_by_me,
        "Take over from " + (ticket.assignee_name || ticket.assignee || "")
      );
      showAction("waiting", ticket.status === "open" || ticket.status === "assigned");
      showAction("resolve", !resolved);
      showAction("reopen", resolved);
      replyForm.hidden = resolved;

      callBanner.hidden = !ticket.call_needed;
      document.getElementById("ticket-rating").textContent = ticket.rating ? ticket.rating + " / 5" : "—";
      renderTranscript(ticket.transcript);
      renderNotes(ticket.notes);
    }

    function refresh() {
      return api("GET", base).then(function (answer) {
        if (answer.ok) render(answer.data);
        else if (answer.status === 401) setLive("You have been signed out. Reload the page to sign in.", "off");
      });
    }

    function run(action, body, button) {
      if (button) button.disabled = true;
      return api("POST", base + "/" + action, body).then(function (answer) {
        if (button) button.disabled = false;
        showResult(answer.data || {}, !answer.ok);
        if (answer.ok && answer.data.ticket) render(answer.data.ticket);
        return answer;
      });
    }

    // The transcript as the API sees it, so later events only append.
    refresh();

    root.querySelectorAll(".action-form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        run(form.getAttribute("data-action"), {}, form.querySelector("button"));
      });
    });

    function pendingFillIn() {
      var text = replyText.value;
      for (var i = 0; i < fillIns.length; i += 1) {
        if (text.indexOf(fillIns[i]) !== -1) return fillIns[i];
      }
      return null;
    }

    function selectFillIn(part) {
      var at = replyText.value.indexOf(part);
      if (at === -1) return;
      replyText.focus();
      replyText.setSelectionRange(at, at + part.length);
    }

    function sendReply() {
      var text = replyText.value.trim();
      if (!text) {
        replyText.focus();
        return;
      }
      var part = pendingFillIn();
      if (part) {
        showResult({ error: "Fill in " + part + " before sending." }, true);
        selectFillIn(part);
        return;
      }
      var button = replyForm.querySelector('button[type="submit"]');
      run("reply", { text: text }, button).then(function (answer) {
        if (answer.ok) {
          replyText.value = "";
          fillIns = [];
          replyText.focus();
        }
      });
    }

    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      sendReply();
    });
    replyText.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        sendReply();
      }
    });

    root.querySelectorAll("[data-canned]").forEach(function (chip) {
      chip.addEventListener("click", function () {
        var text = chip.getAttribute("data-canned");
        var start = replyText.selectionStart;
        var end = replyText.selectionEnd;
        var value = replyText.value;
        if (document.activeElement !== replyText && start === end) start = end = value.length;
        var before = value.slice(0, start);
        var after = value.slice(end);
        var spacer = before && !/\s$/.test(before) ? " " : "";
        replyText.value = before + spacer + text + after;
        var caret = (before + spacer + text).length;
        (text.match(/\[[^\]]+\]/g) || []).forEach(function (part) {
          if (fillIns.indexOf(part) === -1) fillIns.push(part);
        });
        var part = pendingFillIn();
        if (part) selectFillIn(part);
        else {
          replyText.focus();
          replyText.setSelectionRange(caret, caret);
        }
      });
    });

    noteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = noteText.value.trim();
      if (!text) return;
      run("notes", { text: text }, noteForm.querySelector("button")).then(function (answer) {
        if (answer.ok) noteText.value = "";
      });
    });

    var refreshSoon = debounce(refresh, 100);
    listen(function (event) {
      if (event.number === number) refreshSoon();
    }, refreshSoon);
    setInterval(function () {
      if (shown) refresh();
    }, 60000); // time left; a safety net if an event was missed
  }

  if (root.getAttribute("data-console") === "queue") queuePage();
  else if (root.getAttribute("data-console") === "ticket") ticketPage();
})();
