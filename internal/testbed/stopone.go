package testbed

// Stop ends this one server and removes its folder, leaving the rest of the
// bed running: tests use it to close a store between two scans. Bed.Stop
// later finds its process gone and its folder removed, and does nothing more.
func (s *Server) Stop() error { return s.stop() }
