package server

import (
	"context"
	"errors"
	"net"
	"time"
)

// Serve serves h on ln at path until ctx ends, then closes every
// subscriber with a close frame and waits (briefly) for handlers to end.
// With certFile and keyFile set it serves TLS (wss://).
func Serve(ctx context.Context, h *Hub, ln net.Listener, path, certFile, keyFile string) error {
	srv := NewHTTPServer(h.Mux(path), h.opts.HTTP, h.log)
	deliverCtx, stopDelivery := context.WithCancel(ctx)
	delivered := h.startDelivery(deliverCtx)
	defer func() { stopDelivery(); <-delivered }() // before the caller closes the journal
	defer h.startWatch(ctx)()
	defer h.startRunLog(ctx)()
	defer h.startPaging(ctx)()
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		h.Close()
		return err
	case <-ctx.Done():
	}
	h.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx) // hijacked WebSockets are not waited for
	<-errc
	h.Wait(3 * time.Second)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	return nil
}
