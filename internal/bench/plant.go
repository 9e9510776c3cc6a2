package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// plantItems is how many records each open instance holds: enough that
// inventory and sampling do real work, few enough to plant in a blink.
const plantItems = 60

// plantRedis sets the password-protected instance's password aside (it has
// no data: a closed door is a closed door) and fills the open one over its
// unix socket.
func (in *Instance) plantRedis(ctx context.Context) error {
	if in.password != "" {
		return nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", in.sock)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	for i := range plantItems {
		k, v := fmt.Sprintf("user:%d", i), fmt.Sprintf(`{"name":"user %d","plan":"free"}`, i)
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for range plantItems {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("redis SET: %q", line)
		}
	}
	in.Items = plantItems
	return nil
}

// plantMemcached stores items in the open instance.
func (in *Instance) plantMemcached(ctx context.Context) error {
	if in.password != "" {
		return nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(in.Addrs[0], uint16(Ports["memcached"])).String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	for i := range plantItems {
		v := fmt.Sprintf("session %d", i)
		fmt.Fprintf(&b, "set sess:%d 0 0 %d\r\n%s\r\n", i, len(v), v)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for range plantItems {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "STORED\r\n" {
			return fmt.Errorf("memcached set: %q", line)
		}
	}
	in.Items = plantItems
	return nil
}

// plantMariaDB creates the accounts (root from anywhere without a password
// for open; a password on every root account for password) and a table.
func (in *Instance) plantMariaDB(ctx context.Context) error {
	var b strings.Builder
	if in.password == "" {
		b.WriteString("CREATE USER 'root'@'%';\nGRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;\n")
		b.WriteString("CREATE DATABASE shop;\nCREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128));\n")
		b.WriteString("INSERT INTO shop.customers VALUES ")
		for i := range plantItems {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d,'customer %d','c%d@example.com')", i, i, i)
		}
		b.WriteString(";\nANALYZE TABLE shop.customers;\n")
		in.Items = plantItems
	} else {
		hosts, err := in.mariadb(ctx, "SELECT host FROM mysql.user WHERE user = 'root';")
		if err != nil {
			return err
		}
		for _, h := range strings.Fields(hosts) {
			if h != "localhost" {
				fmt.Fprintf(&b, "DROP USER 'root'@'%s';\n", h)
			}
		}
		fmt.Fprintf(&b, "CREATE USER 'root'@'%%' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO 'root'@'%%';\n", in.password)
		// Last: the socket client logs in as root without a password.
		fmt.Fprintf(&b, "DELETE FROM mysql.global_priv WHERE user = '';\n")
		fmt.Fprintf(&b, "FLUSH PRIVILEGES;\nALTER USER 'root'@'localhost' IDENTIFIED BY '%s';\n", in.password)
	}
	b.WriteString("FLUSH PRIVILEGES;\n")
	_, err := in.mariadb(ctx, b.String())
	return err
}

func (in *Instance) mariadb(ctx context.Context, stmts string) (string, error) {
	bin, err := lookBin("mariadb")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--protocol=socket", "--socket="+in.sock,
		"--user=root", "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(stmts)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mariadb client: %w: %s", err, tail(out))
	}
	return string(out), nil
}

// plantPostgres creates a table (open) or sets the password that
// scram-sha-256 in pg_hba.conf asks for (password).
func (in *Instance) plantPostgres(ctx context.Context) error {
	var b strings.Builder
	if in.password == "" {
		b.WriteString("CREATE TABLE customers (id int PRIMARY KEY, name text, email text);\n")
		fmt.Fprintf(&b, "INSERT INTO customers SELECT i, 'customer ' || i, 'c' || i || '@example.com' FROM generate_series(1, %d) i;\n", plantItems)
		b.WriteString("ANALYZE customers;\n")
		in.Items = plantItems
	} else {
		fmt.Fprintf(&b, "ALTER USER postgres PASSWORD '%s';\n", in.password)
	}
	bin, err := lookBin("psql")
	if err != nil {
		return err
	}
	cred, err := userCred("postgres")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "-h", in.sock, "-p", strconv.Itoa(Ports["postgres"]), "-U", "postgres", "-d", "postgres",
		"-v", "ON_ERROR_STOP=1", "-q")
	cmd.Dir = in.dir
	cmd.Stdin = strings.NewReader(b.String())
	cmd.SysProcAttr = sysCred(cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psql: %w: %s", err, tail(out))
	}
	return nil
}
