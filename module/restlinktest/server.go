package restlinktest

import (
	"encoding/pem"
	"net/http/httptest"
)

// Server is a Fake listening on a loopback port, like httptest.Server.
type Server struct {
	*Fake
	*httptest.Server
}

// NewServer starts a plain-HTTP fake on 127.0.0.1. Close it when done.
func NewServer(workspaces ...Workspace) *Server {
	f := New(workspaces...)
	return &Server{Fake: f, Server: httptest.NewServer(f)}
}

// NewTLSServer starts an HTTPS fake on 127.0.0.1 with a self-signed
// certificate; CACertPEM returns it for the sidecar's upstream.ca_file.
func NewTLSServer(workspaces ...Workspace) *Server {
	f := New(workspaces...)
	return &Server{Fake: f, Server: httptest.NewTLSServer(f)}
}

// Close stops the fake's background webhooks, then shuts the listener
// down and waits for the requests in flight, as httptest.Server.Close
// does.
func (s *Server) Close() {
	s.Fake.Close()
	s.Server.Close()
}

// CACertPEM returns the TLS server's certificate in PEM form; nil for a
// plain-HTTP server.
func (s *Server) CACertPEM() []byte {
	cert := s.Certificate()
	if cert == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}
