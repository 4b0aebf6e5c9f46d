/* DiscordPicExtract gallery: days newest first, rendered a page at a time, search, kind filter, lightbox.
   Every text from the data goes into the page through textContent or attributes, never as HTML. */
(function () {
  "use strict";

  var PAGE_SIZE = 120; // cards added per step: the first paint stays fast with any number of pictures
  var AHEAD_PX = 1200; // add the next page while the end of the list is this close to the screen
  var NO_KIND = "(unknown)";

  var days = document.getElementById("days");
  var more = document.getElementById("more");
  var search = document.getElementById("search");
  var kindSelect = document.getElementById("kind");
  var status = document.getElementById("status");
  var lightbox = document.getElementById("lightbox");
  var lbMedia = document.getElementById("lb-media");
  var lbCaption = document.getElementById("lb-caption");
  var lbPrev = document.getElementById("lb-prev");
  var lbNext = document.getElementById("lb-next");

  var all = [];
  var shown = []; // the pictures that pass the search and filter, newest first
  var rendered = 0;
  var dayCounts = {};
  var lastDay = null;
  var lastGrid = null;
  var current = -1;
  var searchTimer = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function dayKey(date) {
    return date.getFullYear() + "-" + (date.getMonth() + 1) + "-" + date.getDate();
  }

  function fileUrl(name) {
    return encodeURIComponent(name);
  }

  function kindLabel(kind) {
    return kind ? kind.replace("forward:", "forward · ") : NO_KIND;
  }

  function byTimeThenName(a, b) {
    // Newest first; at the same millisecond by file name, last first (as the tool sorts them).
    return b.time_ms - a.time_ms || (a.file < b.file ? 1 : a.file > b.file ? -1 : 0);
  }

  function load(data, rows) {
    var fields = data.fields;
    var byFile = new Map(); // file name -> place in items (a Map: any name is safe as a key)
    var items = [];
    rows.forEach(function (row) {
      var item = {};
      for (var i = 0; i < fields.length; i++) item[fields[i]] = row[i];
      if (byFile.has(item.file)) items[byFile.get(item.file)] = item; // a picture saved again: its last row wins
      else byFile.set(item.file, items.push(item) - 1);
    });
    items.sort(byTimeThenName);
    items.forEach(function (item) {
      item.date = new Date(item.time_ms);
      item.day = dayKey(item.date);
      item.haystack = [item.text, item.author, item.file, item.channel].join("\n").toLowerCase();
    });
    return items;
  }

  function loadMonths(data, done) {
    // One file of rows per month, each line `GALLERY_ROWS.push([...])`: a new picture only ever adds a line.
    var months = data.shards || [];
    var left = months.length;
    window.GALLERY_ROWS = [];
    if (!left) done();
    months.forEach(function (month) {
      var script = document.createElement("script");
      script.src = ".gallery/data/" + encodeURIComponent(month) + ".js";
      script.onload = script.onerror = function () {
        script.remove(); // the page keeps only its own two scripts
        if (--left === 0) done();
      };
      document.body.appendChild(script);
    });
  }

  function fillKinds() {
    var seen = {};
    all.forEach(function (item) { seen[item.kind] = (seen[item.kind] || 0) + 1; });
    Object.keys(seen).sort().forEach(function (kind) {
      var option = el("option", null, kindLabel(kind) + " (" + seen[kind].toLocaleString() + ")");
      option.value = kind || NO_KIND;
      kindSelect.appendChild(option);
    });
  }

  function applyFilter() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var kind = kindSelect.value;
    shown = all.filter(function (item) {
      if (kind && (item.kind || NO_KIND) !== kind) return false;
      for (var i = 0; i < words.length; i++) if (item.haystack.indexOf(words[i]) < 0) return false;
      return true;
    });
    dayCounts = {};
    shown.forEach(function (item) { dayCounts[item.day] = (dayCounts[item.day] || 0) + 1; });
    var total = all.length.toLocaleString() + (all.length === 1 ? " picture" : " pictures");
    status.textContent = shown.length === all.length ? total : shown.length.toLocaleString() + " of " + total + " match";
    days.textContent = "";
    rendered = 0;
    lastDay = null;
    if (!shown.length) days.appendChild(el("p", "note", all.length ? "No picture matches." : "This folder has no pictures yet."));
    renderMore();
  }

  function dayHeader(item) {
    var section = el("section", "day");
    var title = el("h2", null, item.date.toLocaleDateString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric" }));
    var count = dayCounts[item.day];
    title.appendChild(el("span", "count", count.toLocaleString() + (count === 1 ? " picture" : " pictures")));
    section.appendChild(title);
    lastGrid = el("div", "grid");
    section.appendChild(lastGrid);
    days.appendChild(section);
  }

  function thumbBox(item) {
    if (!item.thumb) return el("span", "placeholder", item.video ? "▶ video" : "no preview");
    var img = el("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.width = item.thumb_width;
    img.height = item.thumb_height;
    img.alt = item.file;
    img.src = item.thumb;
    return img;
  }

  function card(item, index) {
    var figure = el("figure", "card");
    var button = el("button", "thumb");
    button.type = "button";
    button.title = "Open " + item.file;
    button.appendChild(thumbBox(item));
    button.addEventListener("click", function () { openLightbox(index); });
    figure.appendChild(button);
    var meta = el("figcaption", "meta");
    var line = el("div", "line");
    var time = el("time", null, item.date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
    time.dateTime = item.date.toISOString();
    time.title = item.date.toLocaleString();
    line.appendChild(time);
    var author = el("span", "author", item.author);
    author.dir = "auto";
    line.appendChild(author);
    if (item.kind) line.appendChild(el("span", "kind", kindLabel(item.kind)));
    meta.appendChild(line);
    if (item.text) {
      var text = el("p", "text", item.text);
      text.dir = "auto";
      meta.appendChild(text);
    }
    meta.appendChild(details(item));
    figure.appendChild(meta);
    return figure;
  }

  function details(item) {
    var line = el("div", "line file");
    var name = el("span", null, item.file);
    name.dir = "auto";
    line.appendChild(name);
    if (item.link) {
      var link = el("a", null, "message");
      link.href = item.link;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.title = "Open the message on Discord";
      line.appendChild(link);
    }
    return line;
  }

  function renderMore() {
    var end = Math.min(rendered + PAGE_SIZE, shown.length);
    for (; rendered < end; rendered++) {
      var item = shown[rendered];
      if (item.day !== lastDay) {
        dayHeader(item);
        lastDay = item.day;
      }
      lastGrid.appendChild(card(item, rendered));
    }
  }

  function fillScreen() {
    // Keep adding pages while the end of the list is on (or near) the screen.
    if (rendered < shown.length && more.getBoundingClientRect().top < window.innerHeight + AHEAD_PX) {
      renderMore();
      window.requestAnimationFrame(fillScreen);
    }
  }

  function lightboxMedia(item) {
    var media;
    if (item.video) {
      media = el("video");
      media.controls = true;
      media.preload = "metadata";
    } else {
      media = el("img");
      media.alt = item.file;
    }
    media.src = fileUrl(item.file);
    return media;
  }

  function showCurrent() {
    var item = shown[current];
    lbMedia.textContent = "";
    lbMedia.appendChild(lightboxMedia(item));
    lbCaption.textContent = "";
    var head = el("p", null, (current + 1).toLocaleString() + " / " + shown.length.toLocaleString() + " · " + item.date.toLocaleString());
    if (item.author) head.appendChild(el("strong", "author", " " + item.author));
    if (item.channel) head.appendChild(el("span", "channel", " · " + item.channel));
    lbCaption.appendChild(head);
    if (item.text) {
      var text = el("p", "text", item.text);
      text.dir = "auto";
      lbCaption.appendChild(text);
    }
    lbCaption.appendChild(details(item));
    lbPrev.disabled = current === 0;
    lbNext.disabled = current === shown.length - 1;
  }

  function openLightbox(index) {
    current = index;
    lightbox.hidden = false;
    showCurrent();
    lightbox.focus();
  }

  function closeLightbox() {
    lightbox.hidden = true;
    lbMedia.textContent = "";
    current = -1;
  }

  function move(step) {
    var next = current + step;
    if (next < 0 || next >= shown.length) return;
    current = next;
    showCurrent();
  }

  function onKey(event) {
    if (lightbox.hidden) return;
    if (event.key === "ArrowRight") move(1);
    else if (event.key === "ArrowLeft") move(-1);
    else if (event.key === "Escape") closeLightbox();
    else return;
    event.preventDefault();
  }

  function wire() {
    search.addEventListener("input", function () {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(function () { applyFilter(); fillScreen(); }, 120);
    });
    kindSelect.addEventListener("change", function () { applyFilter(); fillScreen(); });
    document.addEventListener("keydown", onKey);
    lbPrev.addEventListener("click", function () { move(-1); });
    lbNext.addEventListener("click", function () { move(1); });
    document.getElementById("lb-close").addEventListener("click", closeLightbox);
    lightbox.addEventListener("click", function (event) {
      if (event.target === lightbox) closeLightbox();
    });
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(fillScreen, { rootMargin: AHEAD_PX + "px" }).observe(more);
    } else {
      window.addEventListener("scroll", fillScreen, { passive: true });
    }
  }

  function start() {
    var data = window.GALLERY_DATA;
    if (!data) {
      days.textContent = "";
      days.appendChild(el("p", "note", "The data file .gallery/data.js is missing: run  python main.py --gallery <this folder>  again."));
      return;
    }
    loadMonths(data, function () { show(data); });
  }

  function show(data) {
    all = load(data, (data.items || []).concat(window.GALLERY_ROWS));
    fillKinds();
    wire();
    applyFilter();
    performance.mark("gallery-first-page");
    window.requestAnimationFrame(function () {
      // A task queued from the frame that shows the first page runs once that frame is painted.
      window.setTimeout(function () {
        performance.mark("gallery-painted");
        fillScreen();
      }, 0);
    });
  }

  start();
})();
