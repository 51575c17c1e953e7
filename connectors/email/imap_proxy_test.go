package email

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// faultProxy forwards loopback TCP connections to a server and can break
// them: cut a connection once after some bytes from the server, or go
// silent after some bytes, as a dead network does.
type faultProxy struct {
	ln     net.Listener
	target string

	mu sync.Mutex
	// cutAt, when positive, closes the next connection after that many
	// bytes from the server; it applies once, or to every connection with
	// cutEach.
	cutAt   int64
	cutEach bool
	// silentAt, when positive, stops passing the server's bytes on every
	// connection after that many.
	silentAt int64
	conns    int
	open     []net.Conn
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c) })
		}
	})
	return p
}

// cutOnce makes the next connection close after n bytes from the server.
func (p *faultProxy) cutOnce(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAt = n
}

// cutAlways makes every connection close after n bytes from the server.
func (p *faultProxy) cutAlways(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAt, p.cutEach = n, true
}

// silence makes every connection stop passing the server's bytes after n.
func (p *faultProxy) silence(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silentAt = n
}

func (p *faultProxy) port() int {
	_, port, _ := net.SplitHostPort(p.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	return n
}

func (p *faultProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

func (p *faultProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns++
	cut, silent := p.cutAt, p.silentAt
	if !p.cutEach {
		p.cutAt = 0
	}
	p.open = append(p.open, client, server)
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, client)
		done <- struct{}{}
	}()
	go func() {
		limit := cut
		if silent > 0 {
			limit = silent
		}
		if limit > 0 {
			_, _ = io.CopyN(client, server, limit)
			if silent > 0 {
				// Read on and drop: the client hears nothing more.
				_, _ = io.Copy(io.Discard, server)
			}
		} else {
			_, _ = io.Copy(client, server)
		}
		done <- struct{}{}
	}()
	<-done
	client.Close()
	server.Close()
	<-done
}
