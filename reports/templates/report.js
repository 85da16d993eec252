// SPDX-License-Identifier: Apache-2.0
// arenalab report: records script errors and the rendered size of every plot on the document
// (data-* attributes), so a headless browser's DOM dump shows whether the page rendered.
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message || 'resource failed to load'));
    document.documentElement.setAttribute('data-errors', errors.join(' | '));
  }, true);
  function mark() {
    var plots = document.querySelectorAll('img.plot');
    var ok = 0;
    for (var i = 0; i < plots.length; i++) {
      var r = plots[i].getBoundingClientRect();
      plots[i].setAttribute('data-rendered', Math.round(r.width) + 'x' + Math.round(r.height));
      if (plots[i].complete && plots[i].naturalWidth > 0 && r.width > 0 && r.height > 0) ok++;
    }
    var root = document.documentElement;
    root.setAttribute('data-plots', String(plots.length));
    root.setAttribute('data-plots-rendered', String(ok));
    root.setAttribute('data-errors', errors.join(' | '));
    root.setAttribute('data-ready', 'yes');
  }
  window.addEventListener('load', mark);
})();
