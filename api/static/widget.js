/*
 * 富岡甘楽定住自立圏 joint-services assistant: the chat widget.
 *
 * One tag puts it on any page:
 *   <script src="https://HOST/widget.js" data-api="https://HOST" data-lang="ja" defer></script>
 *
 * data-api   where /v1/ask and /v1/feedback live (default: where this script came from);
 * data-lang  the UI language, "ja" (default) or "en"; residents can switch with a button.
 *
 * Rules this file keeps (the tests check them):
 * - everything a resident or the API wrote is put in the page as text (textContent, Text nodes),
 *   never parsed as HTML, so a question or an answer can never run script;
 * - styles live in a Shadow DOM and are adopted as a constructed stylesheet, so the host page's CSS
 *   and ours do not touch, and a host page with a strict CSP (no 'unsafe-inline') still works;
 * - no cookies, no referrer, no personal data kept: only a random per-tab session id and the chosen
 *   town, in sessionStorage.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  // A page that includes the tag twice gets one widget.
  if (!script || document.querySelector("tk-assistant")) return;

  var TIMEOUT_MS = 20000;
  var KEYS = { session: "tk-assistant:session", town: "tk-assistant:town", lang: "tk-assistant:lang" };
  var TOWNS = [
    { value: "", ja: "指定なし", en: "Not specified" },
    { value: "富岡市", ja: "富岡市", en: "Tomioka City" },
    { value: "下仁田町", ja: "下仁田町", en: "Shimonita Town" },
    { value: "南牧村", ja: "南牧村", en: "Nanmoku Village" },
    { value: "甘楽町", ja: "甘楽町", en: "Kanra Town" },
  ];

  var STRINGS = {
    ja: {
      launcher: "チャットで質問",
      title: "連携事業のご案内",
      subtitle: "富岡甘楽定住自立圏",
      close: "閉じる",
      switchTo: "English",
      switchLang: "en",
      welcome:
        "富岡市・下仁田町・南牧村・甘楽町の連携事業について、資料「定住自立圏連携事業（案）」をもとにお答えします。",
      log: "会話",
      town: "お住まい",
      notice: "お名前・電話番号・住所・マイナンバーなどの個人情報は入力しないでください。",
      input: "質問",
      placeholder: "例：子どもが熱を出して保育園に行けない",
      hint: "Enterで送信、Shift+Enterで改行",
      send: "送信",
      sending: "回答を準備しています…",
      empty: "質問を入力してください。",
      you: "あなたの質問",
      answer: "回答",
      follow: "続けて質問",
      suggestions: ["どこで受けられますか？", "だれが使えますか？", "問い合わせ先は？"],
      category: "分野：",
      status: "状況：",
      source: "出典：",
      page: function (n) {
        return " " + n + "ページ";
      },
      contact: "問い合わせ先：",
      more: "詳しく（別のサイト）",
      covers: function (town) {
        return town + "：対象に含まれます";
      },
      notCovered: function (town) {
        return town + "：対象に含まれていません";
      },
      feedback: "この回答は役に立ちましたか？",
      helpful: "役に立った",
      notHelpful: "役に立たなかった",
      thanks: "ご意見ありがとうございました。",
      feedbackFailed: "いまは送信できませんでした。",
      errNetwork: "通信できませんでした。接続を確かめて、もう一度お試しください。入力した質問は残っています。",
      errServer: "ただいま回答できません。しばらくしてから、もう一度お試しください。入力した質問は残っています。",
      errBusy: "混み合っています。少し待ってから、もう一度お試しください。入力した質問は残っています。",
      errClient: "質問を送れませんでした：",
    },
    en: {
      launcher: "Ask a question",
      title: "Joint services assistant",
      subtitle: "Tomioka-Kanra Settlement and Independence Zone",
      close: "Close",
      switchTo: "日本語",
      switchLang: "ja",
      welcome:
        "Ask about the joint projects of Tomioka, Shimonita, Nanmoku and Kanra. Answers come from the draft plan 「定住自立圏連携事業（案）」.",
      log: "Conversation",
      town: "Your town",
      notice: "Please do not type personal information (names, phone numbers, addresses, My Number).",
      input: "Question",
      placeholder: "e.g. My child has a fever and cannot go to nursery",
      hint: "Enter sends, Shift+Enter adds a line",
      send: "Send",
      sending: "Preparing the answer…",
      empty: "Please type a question.",
      you: "Your question",
      answer: "Answer",
      follow: "Ask next",
      suggestions: ["Where is it?", "Who can use it?", "How do I contact them?"],
      category: "Category: ",
      status: "Status: ",
      source: "Source: ",
      page: function (n) {
        return ", page " + n;
      },
      contact: "Contact: ",
      more: "More (another site)",
      covers: function (town) {
        return "Covers " + town;
      },
      notCovered: function (town) {
        return "Does not list " + town;
      },
      feedback: "Was this answer helpful?",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      thanks: "Thank you for your feedback.",
      feedbackFailed: "Could not send this just now.",
      errNetwork: "Could not connect. Please check your connection and try again. Your question is still in the box.",
      errServer: "The assistant cannot answer just now. Please try again later. Your question is still in the box.",
      errBusy: "The assistant is busy. Please wait a moment and try again. Your question is still in the box.",
      errClient: "The question could not be sent: ",
    },
  };

  var CSS = [
    ":host{all:initial !important;display:block !important}",
    // The wrapper resets every inherited property, so nothing from the host page reaches inside.
    ".tk{all:initial;display:block;font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP','Yu Gothic UI',Meiryo,'IPAGothic',sans-serif;",
    "font-size:16px;line-height:1.6;color:#1a1a1a;-webkit-text-size-adjust:100%}",
    ".tk *,.tk *::before,.tk *::after{box-sizing:border-box}",
    "[hidden]{display:none !important}",
    "button,select,textarea{font:inherit;color:inherit;margin:0}",
    "button{cursor:pointer}",
    ":focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}",
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    ".launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;display:inline-flex;align-items:center;gap:8px;",
    "min-height:48px;padding:10px 18px;border:2px solid #fff;border-radius:24px;background:#0b5cad;color:#fff;",
    "font-weight:700;box-shadow:0 2px 8px rgba(0,0,0,.35)}",
    ".launcher:hover{background:#084a8c}",
    ".panel{position:fixed;right:16px;bottom:80px;z-index:2147483001;display:flex;flex-direction:column;",
    "width:400px;max-width:calc(100vw - 32px);height:min(640px,calc(100vh - 100px));background:#fff;",
    "border:1px solid #767676;border-radius:12px;box-shadow:0 6px 24px rgba(0,0,0,.3);overflow:hidden}",
    ".head{display:flex;align-items:center;gap:8px;padding:10px 12px;background:#0b5cad;color:#fff}",
    ".titles{flex:1;min-width:0}",
    ".title{margin:0;font-size:17px;font-weight:700;line-height:1.3}",
    ".subtitle{margin:0;font-size:13px;line-height:1.3}",
    ".head button{min-height:40px;min-width:40px;padding:4px 10px;border:2px solid #fff;border-radius:8px;background:transparent;color:#fff}",
    ".head button:hover{background:#084a8c}",
    ".head :focus-visible{outline-color:#fff}",
    ".log{position:relative;flex:1;overflow-y:auto;padding:12px;background:#f4f6f8}",
    ".msg{margin:0 0 12px;padding:10px 12px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".welcome{background:#fff;border:1px solid #d0d7de}",
    ".question{margin-left:32px;background:#0b5cad;color:#fff}",
    ".answer{margin-right:8px;background:#fff;border:1px solid #d0d7de}",
    ".who{display:block;font-size:13px;font-weight:700;margin-bottom:2px}",
    ".text{display:block}",
    ".card{margin:10px 0 0;padding:10px;border:1px solid #b5bec8;border-left:4px solid #0b5cad;border-radius:6px;background:#fbfcfd;white-space:normal}",
    ".card-name{margin:0 0 4px;font-size:16px;font-weight:700;line-height:1.4}",
    ".card p{margin:2px 0;font-size:14px;line-height:1.5;color:#3d3d3d}",
    ".badge{display:inline-block;margin:0 0 4px;padding:1px 8px;border-radius:10px;font-size:13px;font-weight:700;border:1px solid currentColor}",
    ".badge-planned{background:#fff4d6;color:#6b4500}",
    ".badge-under_discussion{background:#e8eefc;color:#1d3f8a}",
    ".badge-in_operation{background:#e3f5e8;color:#1b5e20}",
    ".card a{color:#0b5cad}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 12px}",
    ".chips button{min-height:40px;padding:6px 12px;border:1px solid #0b5cad;border-radius:20px;background:#fff;color:#0b5cad}",
    ".chips button:hover{background:#e8f0fa}",
    ".rate{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin:8px 0 0;font-size:14px;white-space:normal}",
    ".rate button{min-height:40px;min-width:44px;padding:4px 10px;border:1px solid #767676;border-radius:8px;background:#fff}",
    ".rate button[aria-pressed=true]{background:#e8f0fa;border-color:#0b5cad}",
    ".rate-note{color:#3d3d3d}",
    ".foot{padding:8px 12px 12px;border-top:1px solid #d0d7de;background:#fff}",
    ".status{margin:0 0 6px;font-size:14px;color:#3d3d3d}",
    ".status:empty{display:none}",
    ".status.error{padding:6px 8px;border-radius:6px;background:#fdecee;color:#8a0010}",
    ".notice{margin:0 0 6px;font-size:13px;line-height:1.4;color:#3d3d3d}",
    ".town{display:flex;align-items:center;gap:8px;margin:0 0 6px;font-size:14px}",
    ".town select{min-height:36px;padding:2px 6px;border:1px solid #767676;border-radius:6px;background:#fff}",
    ".compose{display:flex;gap:8px;align-items:flex-end}",
    ".compose textarea{flex:1;min-width:0;min-height:48px;max-height:140px;padding:8px;border:1px solid #767676;border-radius:8px;resize:vertical;background:#fff;line-height:1.5}",
    ".send{min-height:48px;padding:8px 16px;border:0;border-radius:8px;background:#0b5cad;color:#fff;font-weight:700}",
    ".send:hover{background:#084a8c}",
    ".hint{margin:4px 0 0;font-size:12px;color:#3d3d3d}",
    // Phones: the panel takes the whole screen and the launcher steps aside until it closes.
    "@media (max-width:480px){.panel{inset:0;width:100%;max-width:none;height:100%;border:0;border-radius:0}",
    ".open .launcher{display:none}.hint{display:none}}",
    "@media (prefers-reduced-motion:no-preference){.launcher,.send,.chips button{transition:background .15s}}",
  ].join("");

  // ------------------------------------------------------------------ settings

  /** Where the API lives: data-api, or else the folder widget.js was served from (so a path prefix works). */
  function apiBase() {
    var fallback = new URL(".", script.src).href.replace(/\/+$/, "");
    try {
      var url = new URL((script.getAttribute("data-api") || "").trim() || fallback, script.src);
      if (url.protocol !== "https:" && url.protocol !== "http:") return fallback;
      return url.href.replace(/\/+$/, "");
    } catch (e) {
      return fallback;
    }
  }

  function store() {
    // sessionStorage can be switched off or throw (privacy modes, sandboxed frames): fall back to memory.
    try {
      var s = window.sessionStorage;
      s.setItem("tk-assistant:probe", "1");
      s.removeItem("tk-assistant:probe");
      return s;
    } catch (e) {
      var memory = {};
      return {
        getItem: function (k) {
          return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null;
        },
        setItem: function (k, v) {
          memory[k] = String(v);
        },
      };
    }
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      })
      .join("");
  }

  var API = apiBase();
  var storage = store();
  var sessionId = storage.getItem(KEYS.session);
  if (!/^[0-9a-f]{32}$/.test(sessionId || "")) {
    sessionId = randomId();
    storage.setItem(KEYS.session, sessionId);
  }
  var uiLang = storage.getItem(KEYS.lang) || script.getAttribute("data-lang") || "ja";
  if (!STRINGS[uiLang]) uiLang = "ja";
  var town = storage.getItem(KEYS.town) || "";
  if (!TOWNS.some(function (t) { return t.value === town; })) town = "";

  function t(key) {
    return STRINGS[uiLang][key];
  }

  // ------------------------------------------------------------------ DOM helpers (text only)

  /** An element with attributes and children; strings become Text nodes, never markup. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.append(child);
    });
    return node;
  }

  /** A speech-bubble icon drawn in SVG, so it shows the same whatever fonts the device has. */
  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H10l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z");
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    return svg;
  }

  // The answer's language as an HTML lang value: "ja-easy" is Japanese; vi, pt, zh … are themselves.
  function langOf(answerLang) {
    var base = String(answerLang || "").split("-")[0];
    return /^[a-z]{2,3}$/.test(base) ? base : "ja";
  }

  // ------------------------------------------------------------------ the widget

  var host = document.createElement("tk-assistant");
  var root = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    // Older browsers: a <style> element (a host page with a strict CSP needs style-src 'unsafe-inline' there).
    root.append(el("style", { text: CSS }));
  }

  var ui = {};
  ui.launcherText = el("span");
  ui.launcher = el(
    "button",
    {
      class: "launcher",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "tk-panel",
      "aria-haspopup": "dialog",
      onclick: function () {
        if (ui.panel.hidden) open();
        else close();
      },
    },
    [chatIcon(), ui.launcherText]
  );

  ui.title = el("h2", { class: "title", id: "tk-title" });
  ui.subtitle = el("p", { class: "subtitle" });
  ui.langButton = el("button", { type: "button", onclick: switchLanguage });
  ui.closeButton = el("button", { type: "button", onclick: close }, [el("span", { "aria-hidden": "true", text: "✕" })]);
  ui.welcome = el("p", { class: "msg welcome" });
  ui.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" }, [
    ui.welcome,
  ]);
  ui.status = el("p", { class: "status", role: "status" });
  ui.notice = el("p", { class: "notice", id: "tk-notice" });
  ui.townLabel = el("label", { for: "tk-town" });
  ui.town = el("select", {
    id: "tk-town",
    onchange: function () {
      town = ui.town.value;
      storage.setItem(KEYS.town, town);
    },
  });
  ui.inputLabel = el("label", { for: "tk-input", class: "sr" });
  ui.input = el("textarea", { id: "tk-input", rows: "2", "aria-describedby": "tk-notice tk-hint", onkeydown: onInputKey });
  ui.send = el("button", { class: "send", type: "submit" });
  ui.hint = el("p", { class: "hint", id: "tk-hint" });
  ui.form = el("form", { class: "foot", onsubmit: onSubmit, novalidate: true }, [
    ui.status,
    ui.notice,
    el("div", { class: "town" }, [ui.townLabel, ui.town]),
    ui.inputLabel,
    el("div", { class: "compose" }, [ui.input, ui.send]),
    ui.hint,
  ]);
  ui.panel = el(
    "section",
    {
      class: "panel",
      id: "tk-panel",
      role: "dialog",
      // Not modal: the host page stays usable beside the panel on wide screens.
      "aria-modal": "false",
      "aria-labelledby": "tk-title",
      hidden: true,
      onkeydown: function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          close();
        }
      },
    },
    [
      el("div", { class: "head" }, [el("div", { class: "titles" }, [ui.title, ui.subtitle]), ui.langButton, ui.closeButton]),
      ui.log,
      ui.form,
    ]
  );
  ui.wrapper = el("div", { class: "tk" }, [ui.launcher, ui.panel]);
  root.append(ui.wrapper);

  function renderLanguage() {
    ui.wrapper.setAttribute("lang", uiLang);
    ui.launcherText.textContent = t("launcher");
    ui.title.textContent = t("title");
    ui.subtitle.textContent = t("subtitle");
    ui.langButton.textContent = t("switchTo");
    ui.langButton.setAttribute("lang", t("switchLang"));
    ui.closeButton.setAttribute("aria-label", t("close"));
    ui.welcome.textContent = t("welcome");
    ui.log.setAttribute("aria-label", t("log"));
    ui.notice.textContent = t("notice");
    ui.townLabel.textContent = t("town");
    ui.town.replaceChildren.apply(
      ui.town,
      TOWNS.map(function (option) {
        return el("option", { value: option.value, text: option[uiLang], selected: option.value === town });
      })
    );
    ui.inputLabel.textContent = t("input");
    ui.input.setAttribute("placeholder", t("placeholder"));
    ui.send.textContent = t("send");
    ui.hint.textContent = t("hint");
  }

  function switchLanguage() {
    uiLang = uiLang === "ja" ? "en" : "ja";
    storage.setItem(KEYS.lang, uiLang);
    renderLanguage();
  }

  function open() {
    ui.panel.hidden = false;
    ui.wrapper.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.input.focus();
  }

  function close() {
    ui.panel.hidden = true;
    ui.wrapper.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.focus();
  }

  function setStatus(text, isError) {
    ui.status.textContent = text || "";
    ui.status.classList.toggle("error", Boolean(isError));
  }

  // ------------------------------------------------------------------ asking

  var busy = false;

  function onInputKey(event) {
    // Enter while an IME is composing (Japanese input) confirms the conversion: it must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submit(ui.input.value);
  }

  function onSubmit(event) {
    event.preventDefault();
    submit(ui.input.value);
  }

  function submit(value) {
    var question = value.trim();
    if (!question) {
      setStatus(t("empty"), true);
      ui.input.focus();
      return;
    }
    ask(question).then(function (ok) {
      // Clear only what was sent; anything typed while waiting stays.
      if (ok && ui.input.value.trim() === question) ui.input.value = "";
    });
  }

  function post(path, payload) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    return fetch(API + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      headers: { "Content-Type": "application/json", "X-Assistant-Channel": "widget" },
      body: JSON.stringify(payload),
      signal: controller ? controller.signal : undefined,
    }).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  function readJson(response) {
    return response.json().catch(function () {
      return null;
    });
  }

  /** Send one question; true when an answer was shown. Every failure leaves a polite message, never a throw. */
  function ask(question) {
    if (busy) return Promise.resolve(false);
    busy = true;
    ui.log.setAttribute("aria-busy", "true");
    setStatus(t("sending"), false);
    var payload = { question: question, session_id: sessionId };
    if (town) payload.town = town;
    return post("/v1/ask", payload)
      .then(
        function (response) {
          return readJson(response).then(function (body) {
            if (response.ok && body && typeof body.answer === "string") {
              setStatus("", false);
              showTurn(question, body);
              return true;
            }
            var message = body && body.error && typeof body.error.message === "string" ? body.error.message : "";
            if (response.status === 429) setStatus(t("errBusy"), true);
            else if (response.status >= 400 && response.status < 500 && message) setStatus(t("errClient") + message, true);
            else setStatus(t("errServer"), true);
            return false;
          });
        },
        function () {
          setStatus(t("errNetwork"), true);
          return false;
        }
      )
      .finally(function () {
        busy = false;
        ui.log.removeAttribute("aria-busy");
      });
  }

  function showTurn(question, body) {
    // Follow-up buttons belong to the latest answer only.
    Array.prototype.forEach.call(ui.log.querySelectorAll(".chips"), function (old) {
      old.remove();
    });
    var asked = el("div", { class: "msg question" }, [el("span", { class: "who", text: t("you") }), el("span", { class: "text", text: question })]);
    var lang = langOf(body.answer_lang);
    var answer = el("div", { class: "msg answer", lang: lang, "data-answer-id": body.answer_id || null }, [
      el("span", { class: "who", text: t("answer") }),
      el("span", { class: "text", text: body.answer }),
    ]);
    var citations = Array.isArray(body.citations) && !body.abstained ? body.citations : [];
    citations.forEach(function (citation) {
      answer.append(card(citation, lang));
    });
    if (typeof body.answer_id === "string" && body.answer_id) answer.append(feedback(body.answer_id));
    ui.log.append(asked, answer);
    var chips = suggestions(body);
    if (chips) ui.log.append(chips);
    ui.log.scrollTop = asked.offsetTop - 8;
  }

  function card(citation, lang) {
    var name = citation.display_name || citation.name || "";
    var path = citation.display_category_path || (lang === "en" ? citation.category_path_en : citation.category_path);
    if (Array.isArray(path)) path = path.join(" › ");
    var status = String(citation.status || "").replace(/[^a-z_]/g, "");
    var source = citation.source || {};
    var sourceText = source.document ? t("source") + source.document + (source.page ? t("page")(source.page) : "") : null;
    var covers = null;
    if (town && citation.covers_town === true) covers = t("covers")(town);
    if (town && citation.covers_town === false) covers = t("notCovered")(town);
    var link = null;
    if (citation.url) {
      try {
        var url = new URL(citation.url);
        if (url.protocol === "https:" || url.protocol === "http:") {
          link = el("p", null, [el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer", text: t("more") })]);
        }
      } catch (e) {
        link = null;
      }
    }
    return el("article", { class: "card", "data-project-id": citation.project_id || null, "aria-label": name }, [
      el("h3", { class: "card-name", text: name }),
      lang === "en" && citation.name_en && !citation.display_name ? el("p", { lang: "en", text: citation.name_en }) : null,
      citation.status_label
        ? el("span", { class: "badge badge-" + status }, [el("span", { class: "sr", text: t("status") }), citation.status_label])
        : null,
      path ? el("p", { class: "card-path", text: t("category") + path }) : null,
      sourceText ? el("p", { class: "card-source", text: sourceText }) : null,
      citation.contact ? el("p", { text: t("contact") + citation.contact }) : null,
      covers ? el("p", { class: "card-town", text: covers }) : null,
      link,
    ]);
  }

  function suggestions(body) {
    var given = Array.isArray(body.suggestions) ? body.suggestions : [];
    var texts = given
      .map(function (s) {
        return typeof s === "string" ? s : s && (s.question || s.text || s.label);
      })
      .filter(function (s) {
        return typeof s === "string" && s.trim();
      });
    if (!texts.length && !body.abstained) texts = t("suggestions");
    if (!texts.length) return null;
    return el(
      "div",
      { class: "chips", role: "group", "aria-label": t("follow") },
      texts.slice(0, 6).map(function (text) {
        return el("button", {
          type: "button",
          text: text,
          onclick: function () {
            ask(text);
          },
        });
      })
    );
  }

  function feedback(answerId) {
    var note = el("span", { class: "rate-note", role: "status" });
    var sent = false;
    var buttons = [];
    function rate(helpful, button) {
      if (sent) return;
      sent = true;
      button.setAttribute("aria-pressed", "true");
      post("/v1/feedback", { answer_id: answerId, helpful: helpful })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          note.textContent = t("thanks");
        })
        .catch(function () {
          // Quietly: a note, the buttons usable again, nothing thrown at the page.
          sent = false;
          button.setAttribute("aria-pressed", "false");
          note.textContent = t("feedbackFailed");
        });
    }
    [
      [true, "👍", "helpful"],
      [false, "👎", "notHelpful"],
    ].forEach(function (spec) {
      var button = el("button", { type: "button", "aria-label": t(spec[2]), "aria-pressed": "false", "data-helpful": String(spec[0]), text: spec[1] });
      button.addEventListener("click", function () {
        rate(spec[0], button);
      });
      buttons.push(button);
    });
    return el("div", { class: "rate", role: "group", "aria-label": t("feedback") }, [el("span", { text: t("feedback") })].concat(buttons, [note]));
  }

  renderLanguage();
  (document.body || document.documentElement).append(host);
})();
