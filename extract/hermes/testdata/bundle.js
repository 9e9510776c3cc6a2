// A React Native style module: endpoints side by side, as Hermes packs them.
var HOST = "cache.northwind.com";
var api = "https://api.northwind.com/v1/login";
var ws = "wss://push.northwind.com/socket";
var mq = "mqtts://iot.northwind.com:8883";
var caf = "https://cafe.northwind.com/menü";
var big = "https://overflow.northwind.com/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
function go() { return fetch(api).then(function (r) { return r.json(); }); }
print(api + ws + HOST + caf + mq + big);
go();
