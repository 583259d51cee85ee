(function () {
  "use strict";
  var table = document.getElementById("rules-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  function key(row, index) { return row.cells[index].getAttribute("data-sort") || ""; }
  function compare(x, y) {
    var nx = Number(x), ny = Number(y);
    if (!isNaN(nx) && !isNaN(ny)) { return nx - ny; }
    return x.localeCompare(y);
  }
  Array.prototype.forEach.call(headers, function (th, index) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, index), y = key(b, index);
        var c;
        if (x === "" || y === "") {
          c = (x === "" ? 1 : 0) - (y === "" ? 1 : 0);  /* blanks last either way */
        } else {
          c = ascending ? compare(x, y) : compare(y, x);
        }
        return c || (Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order")));
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
}());
