global using Stedi.Lakehouse.Ports;
global using Xunit;
