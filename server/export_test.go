package server

// Routes lists the server's routes as "METHOD PATTERN", for the tests.
func Routes(s *Server) []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return out
}

// OpenAPI returns the server's OpenAPI document, for the tests.
func OpenAPI() []byte {
	s := &Server{}
	return openAPI(s.routes())
}
