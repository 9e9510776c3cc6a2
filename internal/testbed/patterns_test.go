package testbed

import (
	"testing"

	"github.com/gownscan/gown/internal/lazyre/lazyretest"
)

// TestPatternsCompile compiles every pattern of the package, which the
// package itself only does on first use, and checks each against lines of
// the logs it reads and near misses: a bad or broken one fails here by
// name, and a new one without examples fails too.
func TestPatternsCompile(t *testing.T) {
	lazyretest.Check(t, "github.com/gownscan/gown/internal/testbed", []lazyretest.Case{
		{Name: "tracerLine", Re: tracerLine,
			TP: []string{`[2026-01-02T10:00:00,000][TRACE][o.o.h.HttpTracer] [node-1] [12][gown-testbed][GET][/_cat/indices] received request from [Netty4HttpChannel{localAddress=/127.0.0.1:9200, remoteAddress=/127.0.0.2:40998}]`},
			FP: []string{`[12][gown-testbed][GET][/_cat/indices] sent response to [Netty4HttpChannel{localAddress=/127.0.0.1:9200, remoteAddress=/127.0.0.2:40998}]`,
				`[12][gown-testbed][get][/] received request from [Netty4HttpChannel{remoteAddress=/127.0.0.2:1}]`}},
		{Name: "nginxLine", Re: nginxLine,
			TP: []string{`127.0.0.2 "GET / HTTP/1.1" 401 "gown-testbed"`, `127.0.0.1 "POST /_search?q=x HTTP/1.1" 200 "-"`},
			FP: []string{`127.0.0.2 "GET / HTTP/1.1" 401`, `127.0.0.2 "get / HTTP/1.1" 200 "-"`, `"GET / HTTP/1.1" 401 "-"`}},
		{Name: "pouchLine", Re: pouchLine,
			TP: []string{`[2026-01-02T10:00:00.000Z] [info] [<0.000.0>] 127.0.0.2 - - GET /_all_dbs 200`},
			FP: []string{`[2026-01-02T10:00:00.000Z] [info] [<0.000.0>] 127.0.0.2 - - GET /_all_dbs 200 12ms`,
				`[info] [<0.000.0>] 127.0.0.2 GET /_all_dbs 200`}},
		{Name: "firebaseLine", Re: firebaseLine,
			TP: []string{"firebase-server GET /users +0ms", "Fri, 02 Jan 2026 10:00:00 GMT firebase-server PATCH / +1ms"},
			FP: []string{"firebase-server listening on port 9000", "firebase-server GET users +0ms"}},
		{Name: "mongoDocKey", Re: mongoDocKey,
			TP: []string{`"Document": {"listDatabases": 1, "$db": "admin"}`, "\"Document\": {\n  \"find\": \"users\""},
			FP: []string{`"Document": {}`, `"document": {"find": "users"}`}},
		{Name: "mongoDocDB", Re: mongoDocDB,
			TP: []string{`"Document": {"listDatabases": 1, "$db": "admin"}`, `"$db": ""`},
			FP: []string{`"db": "admin"`, `"$db": 1`}},
		{Name: "mosquittoReceived", Re: mosquittoReceived,
			TP: []string{"1764918000: Received SUBSCRIBE from gown-1a2b", "1764918000: Received CONNECT from auto-5F3C"},
			FP: []string{"1764918000: Sending SUBACK to gown-1a2b", "1764918000: Received subscribe from gown-1a2b"}},
		{Name: "mosquittoClient", Re: mosquittoClient,
			TP: []string{"1764918000: New client connected from 127.0.0.2:40412 as gown-1a2b (p2, c1, k10)."},
			FP: []string{"1764918000: New connection from 127.0.0.2:40412 on port 1883.", "1764918000: Client gown-1a2b disconnected."}},
		{Name: "mosquittoConn", Re: mosquittoConn,
			TP: []string{"1764918000: New connection from 127.0.0.2:40412 on port 1883."},
			FP: []string{"1764918000: New client connected from 127.0.0.2:40412 as gown-1a2b (p2, c1, k10).", "New connection from 127.0.0.2 on port 1883."}},
		{Name: "werkzeugLine", Re: werkzeugLine,
			TP: []string{`127.0.0.2 - - [05/Dec/2026 07:00:00] "GET /gown-open?list-type=2 HTTP/1.1" 200 -`, `127.0.0.1 - - [05/Dec/2026 07:00:00] "PUT /gown-open HTTP/1.1" 200 -`},
			FP: []string{` * Running on http://127.0.0.1:5000`, `127.0.0.2 - - [05/Dec/2026 07:00:00] "get / HTTP/1.1" 200 -`}},
		{Name: "azuriteLine", Re: azuriteLine,
			TP: []string{`2026-12-05T11:37:14.353Z 8f10ad58-d805-48ea-9a96-08277498fd0f info: BlobStorageContextMiddleware: RequestMethod=GET RequestURL=http://devstoreaccount1.blob.core.windows.net/cpub?restype=container&comp=list RequestHeaders:{"host":"devstoreaccount1.blob.core.windows.net","user-agent":"gown"} ClientIP=127.0.0.2 Protocol=http HTTPVersion=1.1`},
			FP: []string{`2026-12-05T11:37:14.136Z 2d07a8b7 info: EndMiddleware: End response. TotalTimeInMS=15 StatusCode=200`,
				`BlobStorageContextMiddleware: RequestMethod=GET RequestURL=http://h/c RequestHeaders:{}`}},
		{Name: "ansiEscape", Re: ansiEscape,
			TP: []string{"\x1b[31mERROR\x1b[0m", "\x1b[1;32m"},
			FP: []string{"[31m without the escape", "\x1b]0;title\x07"}},
		{Name: "mcPrefix", Re: mcPrefix,
			TP: []string{"<24 stats", "<23 <24 connection closed.", "0x73 0x74<24 connection closed.", "<7 get key"},
			FP: []string{">24 END", "<24", "24 stats", "<x stats"}},
		{Name: "mcNewConn", Re: mcNewConn,
			TP: []string{"new ascii client connection.", "new auto-negotiating client connection"},
			FP: []string{"new client", "connection closed.", "<24 new ascii client connection."}},
		{Name: "mcHex", Re: mcHex,
			TP: []string{"0x80", "0x80 0x10 0x00 0x00"},
			FP: []string{"0x8", "0x80 0x1", "0x80  0x10", "0xGG", "80 10"}},
		{Name: "pgLine", Re: pgLine,
			TP: []string{`2026-01-02 10:00:00.123 UTC [4242] c=6578a1b2.1092 h=127.0.0.2 d=shop a=psql: LOG:  statement: SELECT 1`,
				`2026-01-02 10:00:00.123 UTC [4242] c=6578a1b2.1092 h= d= a=: FATAL:  password authentication failed for user "x"`},
			FP: []string{`2026-01-02 10:00:00.123 UTC [4242] c=6578a1b2.1092 h=127.0.0.2 d=shop a=psql: LOG: statement: SELECT 1`,
				"\tSELECT 1", `2026-01-02 10:00:00.123 UTC [4242] h=127.0.0.2 d=shop a=psql: LOG:  x`,
				`2026-01-02 10:00:00.123 UTC [4242] c=1 h=2 d=3 a=4: SHOUT:  x`}},
		{Name: "pgStatement", Re: pgStatement,
			TP: []string{"statement: SELECT 1", "execute <unnamed>: SELECT $1", "statement: SELECT 1\n\tFROM t"},
			FP: []string{"duration: 0.1 ms", "connection authorized: user=x", " statement: SELECT 1"}},
		{Name: "logLine", Re: logLine,
			TP: []string{"260102 10:00:00\t    12 Connect\troot@localhost on shop", "\t\t    12 Query\tSELECT 1", "260102  9:00:00\t   3 Init DB\tshop"},
			FP: []string{"\t\t    12 query\tSELECT 1", "    12 Query\tSELECT 1", "Time\t\t    Id Command\tArgument"}},
		{Name: "logHeader", Re: logHeader,
			TP: []string{"/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:",
				"Tcp port: 3306  Unix socket: /tmp/x.sock", "Time\t\t    Id Command\tArgument", ", Version: 8.0"},
			FP: []string{"\t\t    12 Query\tSELECT @@version", "Tcp port: none", "mariadbd Version: 10"}},
		{Name: "fakeGCSLine", Re: fakeGCSLine,
			TP: []string{`time=2026-12-05T07:57:22.392Z level=INFO msg="127.0.0.2 - - [05/Dec/2026:07:57:22 +0000] \"GET /storage/v1/b/gown-shop.appspot.com/o?maxResults=1000 HTTP/1.1\" 200 907\n"`},
			FP: []string{`time=2026-12-05T07:57:20.917Z level=INFO msg="server started at http://127.0.0.1:45100"`,
				`127.0.0.2 - - [05/Dec/2026:07:57:22 +0000] "GET / HTTP/1.1" 200 907`}},
	})
}
