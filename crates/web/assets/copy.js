// Sentra: copy buttons without inline script (the CSP allows only 'self').
// <button type="button" data-copy="ID"> copies the text of the element #ID
// and announces it in <span role="status" data-copy-status="ID">.
(function () {
  'use strict';
  function announce(id, text) {
    var s = document.querySelector('[data-copy-status="' + id + '"]');
    if (s) { s.textContent = text; }
  }
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  function fallback(id, el) {
    select(el);
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    announce(id, ok ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (Cmd+C on a Mac) to copy.');
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button[data-copy]') : null;
    if (!button) { return; }
    var id = button.getAttribute('data-copy');
    var el = document.getElementById(id);
    if (!el) { return; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(el.textContent).then(function () {
        announce(id, 'Copied to the clipboard.');
      }, function () { fallback(id, el); });
    } else {
      fallback(id, el);
    }
  });
}());
