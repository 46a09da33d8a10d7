-- The XML schema of the service's error document; elements it does not list are kept by the reader as strings.
return {
  name = "Error",
  children = {
    { name = "Code", type = "string" },
    { name = "Message", type = "string" },
    { name = "RequestId", type = "string" },
    { name = "HostId", type = "string" },
    { name = "EC", type = "string" },
  },
}
