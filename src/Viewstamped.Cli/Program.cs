System.Console.WriteLine("vsr");
